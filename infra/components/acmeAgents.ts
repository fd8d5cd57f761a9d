// The ACME containers of one host, created by ImageHost around its master: the bootstrap
// one-shot before it, the sync agent after it (sharing its PID namespace, to reload it),
// and on the issuer the bundle publisher. Every script is built by infra/acme.ts; this
// only wires containers. See README "Certificates".
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { initScript, scriptBoot, scriptPath, syncClientFiles, syncScript, containerBoot, type SecretFile } from "../acme.js";
import { publisherFiles, renderPublisher } from "../nginx/publisher.js";
import { nginxServe } from "../remote.js";
import type { AcmePlan, HostAcmePlan } from "../topology.js";
import { CONTAINER_USERS, FIXED_NAME_CONTAINER, hardened } from "./hardening.js";
import type { Party } from "./tlsSyncPki.js";

/** What a host's agents get of the internal CA: the CA, and its own certificate. */
export interface HostPki {
  caCertPem: pulumi.Output<string>;
  /** The issuer's publisher. */
  server?: Party;
  /** A follower's sync agent. */
  client?: Party;
}

/**
 * The certbot image declares VOLUME /etc/letsencrypt and /var/lib/letsencrypt; small tmpfs
 * there keep Docker from leaving an anonymous volume per container (certbot is pointed
 * at the acme volume instead).
 */
export const CERTBOT_IMAGE_VOLUMES = { "/etc/letsencrypt": "1m", "/var/lib/letsencrypt": "1m" } as const;

const volumeMount = (volume: pulumi.Input<string>, target: string, readOnly = false): docker.types.input.ContainerMount => ({
  type: "volume",
  source: volume,
  target,
  ...(readOnly && { readOnly: true }),
});

/** Secret environment variables, `NAME=value`, as one secret list. */
function secretEnvs(values: Record<string, pulumi.Output<string>>): pulumi.Output<string[]> {
  return pulumi.secret(pulumi.all(Object.entries(values).map(([k, v]) => pulumi.interpolate`${k}=${v}`)));
}

export interface AgentArgs {
  acme: HostAcmePlan;
  cluster: AcmePlan;
  volume: pulumi.Input<string>;
  opts: pulumi.CustomResourceOptions;
}

/**
 * The bootstrap one-shot: lays out the volume and makes a self-signed bundle for each acme
 * certificate that has none, on the host (the key never leaves it), so the master always
 * starts with a certificate. Runs as nginx's uid, without network, to completion.
 */
export function acmeInit(args: AgentArgs & { image: pulumi.Input<string> }): docker.Container {
  const { acme } = args;
  return new docker.Container(
    acme.init.name,
    {
      name: acme.init.name,
      image: args.image,
      entrypoints: ["/bin/sh", "-c", initScript(acme, args.cluster.certificates)],
      user: CONTAINER_USERS.nginx,
      readOnly: true,
      tmpfs: Object.fromEntries(Object.entries(CERTBOT_IMAGE_VOLUMES).map(([p, size]) => [p, `rw,noexec,nosuid,nodev,size=${size}`])),
      capabilities: { drops: ["ALL"] },
      securityOpts: ["no-new-privileges:true"],
      networkMode: "none",
      mounts: [volumeMount(args.volume, acme.dir)],
      attach: true,
      mustRun: false,
      restart: "no",
    },
    { ...args.opts, ...FIXED_NAME_CONTAINER },
  );
}

/** Seconds between the sync agent's health checks (it also reports overdue renewals). */
const SYNC_HEALTH_INTERVAL_SECONDS = 300;

/**
 * The sync agent: installs new bundles into the volume the master reads and reloads the
 * master with SIGHUP. It joins the master's PID namespace (`pidMode container:<id>`), where
 * nginx is PID 1 and runs as the same uid: so no Docker socket and no capability is needed.
 * A replaced master replaces the agent too (the id changes).
 */
export function tlsSync(args: AgentArgs & { image: pulumi.Input<string>; master: docker.Container; network: pulumi.Input<string>; pki?: HostPki }): docker.Container {
  const { acme } = args;
  const run = acme.sync.runDir;
  const client = syncClientFiles(run);
  const secrets: SecretFile[] =
    acme.role === "follower" ? [{ env: "TLS_SYNC_CA", path: client.ca }, { env: "TLS_SYNC_CERT", path: client.cert }, { env: "TLS_SYNC_KEY", path: client.key }] : [];
  if (acme.role === "follower" && args.pki?.client === undefined) throw new Error(`${acme.sync.name}: a follower needs its client certificate`);
  return new docker.Container(
    acme.sync.name,
    {
      name: acme.sync.name,
      image: args.image,
      entrypoints: ["/bin/sh", "-c", scriptBoot(run, "tls-sync", secrets, ["loop"]), "tls-sync"],
      command: [syncScript(acme, args.cluster.certificates)],
      pidMode: pulumi.interpolate`container:${args.master.id}`,
      networkMode: args.network,
      mounts: [volumeMount(args.volume, acme.dir)],
      ...(acme.role === "follower" &&
        args.pki?.client && {
          envs: secretEnvs({ TLS_SYNC_CA: args.pki.caCertPem, TLS_SYNC_CERT: args.pki.client.certPem, TLS_SYNC_KEY: args.pki.client.keyPem }),
        }),
      ...hardened({
        user: CONTAINER_USERS.nginx,
        memoryMb: 64,
        nofile: 1024,
        tmpfs: { [run]: "16m" },
        stopSignal: "SIGTERM",
        healthcheck: { tests: ["CMD", "sh", scriptPath(run, "tls-sync"), "check"], intervalSeconds: SYNC_HEALTH_INTERVAL_SECONDS, timeoutSeconds: 10, retries: 1, startPeriodSeconds: 60 },
      }),
      // Unhealthy until the first issuance arrives: nothing may wait for it.
      wait: false,
    },
    { ...args.opts, ...FIXED_NAME_CONTAINER },
  );
}

/**
 * The issuer's publisher: a tiny nginx serving the published bundles over mutual TLS on
 * the host's address, to the followers only (infra/nginx/publisher.ts).
 */
export function tlsPublisher(args: AgentArgs & { image: pulumi.Input<string>; network: pulumi.Input<string>; pki: HostPki }): docker.Container {
  const { acme } = args;
  const pub = acme.publisher;
  if (pub === undefined || args.pki.server === undefined) throw new Error(`${acme.sync.name}: no publisher on this host`);
  const files = publisherFiles(pub.runDir);
  const ids = args.cluster.certificates.map((c) => c.id);
  return new docker.Container(
    pub.name,
    {
      name: pub.name,
      image: args.image,
      entrypoints: [
        "/bin/sh",
        "-c",
        containerBoot({
          runDir: pub.runDir,
          secrets: [{ env: "TLS_PUBLISH_SERVER", path: files.server }, { env: "TLS_PUBLISH_CA", path: files.ca }],
          payload: files.config,
          dirs: [files.temp],
          exec: nginxServe(files.config),
        }),
        "tls-publish",
      ],
      command: [renderPublisher(acme, ids)],
      envs: secretEnvs({ TLS_PUBLISH_SERVER: pulumi.interpolate`${args.pki.server.keyPem}${args.pki.server.certPem}`, TLS_PUBLISH_CA: args.pki.caCertPem }),
      networkMode: args.network,
      ...(pub.publish && { ports: [{ internal: pub.listen.port, external: pub.publish.port, ip: pub.publish.address }] }),
      mounts: [volumeMount(args.volume, acme.dir, true)],
      ...hardened({
        user: CONTAINER_USERS.nginx,
        memoryMb: 64,
        nofile: 1024,
        tmpfs: { [pub.runDir]: "16m" },
        stopSignal: "SIGQUIT",
        // TLS with client certificates only: check that it listens.
        healthcheck: { tests: ["CMD", "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${pub.listen.port}`], intervalSeconds: 30, timeoutSeconds: 3, retries: 3, startPeriodSeconds: 5 },
      }),
    },
    { ...args.opts, ...FIXED_NAME_CONTAINER },
  );
}
