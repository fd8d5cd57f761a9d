// The ACME issuer: on the issuer host, one renewer container per acme certificate (certbot's
// image, as nginx's uid, read-only root, no capabilities; it talks to the ACME server and
// writes the issuer's acme volume) and a gate that waits for its first result, so a failed
// issuance fails `pulumi up` with certbot's reason instead of passing silently. The
// issuer host's ImageHost provides the site (engine, network, volume); the Certificate
// components read the result. See README "Certificates".
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ISSUANCE_TIMEOUT_SECONDS, dnsCredentialsPath, issuanceGateCommand, parseRenewerStatus, renewerPaths, renewerScript, scriptBoot, scriptPath } from "../acme.js";
import type { AcmePlan, HostPlan } from "../topology.js";
import { CERTBOT_IMAGE_VOLUMES } from "./acmeAgents.js";
import type { DockerEngine } from "./dockerEngine.js";
import { CONTAINER_USERS, FIXED_NAME_CONTAINER, hardened } from "./hardening.js";
import { RERUN } from "./rolling.js";

/** What the issuer host gives its renewers (ImageHost makes it on the issuer). */
export interface AcmeSite {
  /** The issuer host's plan: its acme part names the renewers and their paths. */
  plan: HostPlan;
  engine: DockerEngine;
  network: pulumi.Input<string>;
  /** The host's acme volume. */
  volume: pulumi.Input<string>;
  /** The bootstrap one-shot and the images on the engine: renewers start after them. */
  ready: pulumi.Resource[];
}

export interface AcmeIssuerArgs {
  cluster: AcmePlan;
  site: AcmeSite;
  /** dns-01 plugins' credentials files by certificate id (the secrets `acmeDnsCredentials.<id>`). */
  dnsCredentials: Record<string, pulumi.Output<string>>;
  /** Everything the first validation needs: every master up with the challenge fallback. */
  after: pulumi.Resource[];
  /** Name of the gate that waits for certificate `id`'s first result. */
  gateName: (id: string) => string;
  /**
   * Where certificate `id`'s renewer and gate were registered before there was an issuer
   * component (its Certificate component): aliased there, so they keep their URNs.
   */
  formerParent?: (id: string) => pulumi.Input<string>;
}

/** A renewer's first result, as the gate read it. */
export interface Issuance {
  /** The renewer container's name. */
  renewer: string;
  fingerprint: pulumi.Output<string>;
  notAfter: pulumi.Output<string>;
}

export class AcmeIssuer extends pulumi.ComponentResource {
  /** Per certificate id. */
  readonly issuance: Record<string, Issuance>;

  constructor(name: string, args: AcmeIssuerArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("image-origin:cluster:AcmeIssuer", name, {}, opts);
    const { site } = args;
    const hostAcme = site.plan.acme;
    if (hostAcme === undefined || hostAcme.role !== "issuer") throw new Error(`${site.plan.name} is not the ACME issuer`);
    this.issuance = {};
    for (const cert of args.cluster.certificates) {
      const renewer = hostAcme.renewers.find((r) => r.id === cert.id);
      if (renewer === undefined) throw new Error(`${site.plan.name} runs no renewer for "${cert.id}"`);
      const paths = renewerPaths(hostAcme, cert.id);
      const dns = cert.challenge === "dns-01";
      const dnsCredentials = args.dnsCredentials[cert.id];
      if (dns && dnsCredentials === undefined) throw new Error(`certificate "${cert.id}": dns-01 needs acmeDnsCredentials.${cert.id}`);
      const aliases = args.formerParent ? [{ parent: args.formerParent(cert.id) }] : [];
      const credentials = dnsCredentialsPath(renewer.runDir);
      const envs: string[] = [`HOME=${renewer.runDir}`, ...(dns && cert.dnsPlugin === "route53" ? [`AWS_SHARED_CREDENTIALS_FILE=${credentials}`] : [])];
      const container = new docker.Container(
        renewer.name,
        {
          name: renewer.name,
          image: site.engine.imageIds[cert.image]!,
          entrypoints: ["/bin/sh", "-c", scriptBoot(renewer.runDir, "renewer", dns ? [{ env: "ACME_DNS_CREDENTIALS", path: credentials }] : [], ["loop"]), "renewer"],
          command: [renewerScript(cert, renewer.name, paths)],
          envs: dns ? pulumi.secret(pulumi.all([...envs, pulumi.interpolate`ACME_DNS_CREDENTIALS=${dnsCredentials!}`])) : envs,
          networkMode: site.network,
          mounts: [{ type: "volume", source: site.volume, target: hostAcme.dir }],
          ...hardened({
            user: CONTAINER_USERS.nginx,
            memoryMb: 256,
            nofile: 1024,
            tmpfs: { [renewer.runDir]: "16m", ...CERTBOT_IMAGE_VOLUMES },
            stopSignal: "SIGTERM",
            healthcheck: { tests: ["CMD", "sh", scriptPath(renewer.runDir, "renewer"), "health"], intervalSeconds: 60, timeoutSeconds: 10, retries: 1, startPeriodSeconds: 600 },
          }),
          // The gate below waits for the first result with a clearer message than Docker's.
          wait: false,
        },
        { parent: this, provider: site.engine.provider, dependsOn: [...site.ready, ...args.after], ...FIXED_NAME_CONTAINER, aliases },
      );
      const gate = new command.local.Command(
        args.gateName(cert.id),
        {
          create: issuanceGateCommand(site.plan, renewer, cert.id, ISSUANCE_TIMEOUT_SECONDS),
          // Asked again whenever the renewer is replaced (its config changed).
          triggers: [container.id],
        },
        { parent: this, dependsOn: [container], aliases, ...RERUN },
      );
      const result = gate.stdout.apply((out) => parseRenewerStatus(out));
      this.issuance[cert.id] = { renewer: renewer.name, fingerprint: result.apply((s) => s.fingerprint ?? ""), notAfter: result.apply((s) => s.notAfter ?? "") };
    }
    this.registerOutputs({});
  }
}
