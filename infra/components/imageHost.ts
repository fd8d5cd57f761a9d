// One Docker host of the cluster: its engine (the provider every child uses, and the
// images delivered to it), a private network with fixed addresses, the proxy-cache
// volume, the slaves and resizers, then the master with its drain, then a gate that waits
// until the L4 has taken the host back.
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { hostUrl } from "../address.js";
import { drainCommand, healthGateCommand, type ImageOrigin, type L4Check } from "../remote.js";
import { instanceName, type AcmePlan, type HostPlan } from "../topology.js";
import { acmeInit, tlsPublisher, tlsSync, type HostPki } from "./acmeAgents.js";
import type { AcmeSite } from "./acmeIssuer.js";
import type { Certificate } from "./certificate.js";
import { DockerEngine, type EngineImage } from "./dockerEngine.js";
import { CONTAINER_USERS, FIXED_NAME_CONTAINER, ownerSettingOneShot } from "./hardening.js";
import { NginxInstance, type UploadedFile } from "./nginxInstance.js";
import { Resizer, type ResizerArgs } from "./resizer.js";
import { opsAgent } from "./opsAgent.js";
import { RERUN, oneAtATime } from "./rolling.js";

/** Where the host's images come from (`acme`: certbot's images, when there are acme certificates). */
export type ImageSource =
  /** Built (the resizer, from `resizerBuild`) or pulled on the operator's engine, then streamed to the host (closed network). */
  | { kind: "push"; nginx: string; resizer: string; acme: string[]; resizerBuild: Extract<ImageOrigin, { kind: "build" }> }
  /** Pulled by the host itself from a registry it can reach. */
  | { kind: "registry"; nginx: string; resizer: string; acme: string[] };

export interface ImageHostArgs {
  plan: HostPlan;
  images: ImageSource;
  /** The resizers' secrets (signing keys, as a Pulumi secret), when there are any. */
  resizerSecrets?: ResizerArgs["secrets"];
  /** Rendered files per instance name (nginx configs, static pages). */
  files: Record<string, UploadedFile[]>;
  /** Certificates uploaded into the master (supplied and self-signed). */
  certificates: Record<string, Certificate>;
  /** acme certificates: the cluster's ACME plan and this host's part of the internal CA. */
  acme?: { cluster: AcmePlan; pki?: HostPki };
  /**
   * The L4's view of this host: path, expected status and (with a `vip`) its check timing,
   * which the drain and the gate wait for; `timeoutSeconds` bounds the gate.
   */
  healthCheck: { path: string; expectStatus: number; timeoutSeconds: number; l4?: L4Check };
  /**
   * Serial rollout: nothing on this host changes before the previous host is healthy and
   * back in the L4, its network included (a network replaced early would delete this
   * host's containers while the previous host is still out).
   */
  after?: pulumi.Resource;
  /** The previous host's engine: its deliveries go first (the operator's engine obtains an image once). */
  previousEngine?: DockerEngine;
  /** Runs before the network changes (program.ts: refuses a network change under `rollout: parallel`). */
  networkGuard?: pulumi.Resource;
}

/** The short name of an image in resource names: `certbot/dns-cloudflare:v4` -> `dns-cloudflare`. */
function imageName(ref: string): string {
  return ref.split("/").pop()!.split(/[:@]/)[0]!;
}

export class ImageHost extends pulumi.ComponentResource {
  /** The host's Docker provider and the images on it. */
  readonly engine: DockerEngine;
  readonly healthGate: command.local.Command;
  readonly network: docker.Network;
  /** The master's container. */
  readonly master: NginxInstance;
  /** The ACME issuer host only: where the AcmeIssuer runs its renewers. */
  readonly acmeSite?: AcmeSite;
  readonly containers: { master: pulumi.Output<string>; slaves: pulumi.Output<string>[]; resizers: pulumi.Output<string[]>; ops: pulumi.Output<string> };
  /** The host's ops agent (metrics of master, slaves and resizers). */
  readonly ops: docker.Container;
  /** Image id of the resizer as the host's engine reports it. */
  readonly resizerImageId: pulumi.Output<string>;

  constructor(name: string, args: ImageHostArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("image-origin:cluster:ImageHost", name, {}, opts);
    const { plan, images } = args;
    const pull: ImageOrigin = { kind: "pull" };
    const wanted: EngineImage[] = [
      { name: "resizer", ref: images.resizer, origin: images.kind === "push" ? images.resizerBuild : pull },
      { name: "nginx", ref: images.nginx, origin: pull },
      ...images.acme.map((ref) => ({ name: imageName(ref), ref, origin: pull })),
    ];
    this.engine = new DockerEngine(
      `${plan.name}-engine`,
      {
        host: plan,
        images: wanted,
        delivery: images.kind === "push" ? { kind: "push", ...(args.previousEngine && { after: args.previousEngine.delivered }) } : { kind: "registry" },
        formerParent: this,
      },
      { parent: this },
    );
    const provider = this.engine.provider;
    const child = (extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions => ({ parent: this, provider, ...extra });

    const network = (this.network = new docker.Network(
      plan.network.name,
      {
        name: plan.network.name,
        driver: "bridge",
        ipamConfigs: [{ subnet: plan.network.subnet, gateway: plan.network.gateway }],
      },
      // A changed subnet means a new network under the same name: the old one goes first,
      // and the engine deletes its containers (their fixed addresses change with it) before
      // it, the master's drain first. That happens when the network registers, so with a
      // serial rollout it waits for the previous host's gate: one host out at a time.
      child({ deleteBeforeReplace: true, dependsOn: [...(args.after ? [args.after] : []), ...(args.networkGuard ? [args.networkGuard] : [])] }),
    ));

    // --- images on this host's engine, by the id it reports
    const nginxImage = this.engine.imageIds[images.nginx]!;
    const resizerImage = this.engine.imageIds[images.resizer]!;
    this.resizerImageId = resizerImage;
    const acmeImages: Record<string, pulumi.Input<string>> = Object.fromEntries(images.acme.map((ref) => [ref, this.engine.imageIds[ref]!]));
    const imagesReady = this.engine.ready;

    // --- the proxy cache (and the acme volume) outlive container replacements; nginx's uid
    // (101) must own them before the acme bootstrap or the master writes there. The acme
    // volume holds the issuer's ACME account and certificates: deleting it costs a new
    // account and a new issuance, so Pulumi never deletes it.
    const cacheVolume = new docker.Volume(plan.volumes.cache, { name: plan.volumes.cache }, child());
    const acmeVolume =
      plan.volumes.acme !== undefined ? new docker.Volume(plan.volumes.acme, { name: plan.volumes.acme }, child({ retainOnDelete: true })) : undefined;
    const cacheMount: docker.types.input.ContainerMount = { type: "volume", source: cacheVolume.name, target: plan.master.paths.cacheDir };
    const acmeMount: docker.types.input.ContainerMount | undefined = acmeVolume && { type: "volume", source: acmeVolume.name, target: plan.master.paths.acmeDir };
    const owned = [cacheMount, ...(acmeMount ? [acmeMount] : [])];
    const cacheOwner = new docker.Container(
      instanceName.cacheOwner(plan.name),
      {
        name: instanceName.cacheOwner(plan.name),
        image: nginxImage,
        entrypoints: ["chown"],
        command: [CONTAINER_USERS.nginx, ...owned.map((m) => m.target as string)],
        ...ownerSettingOneShot(),
        readOnly: true,
        mounts: owned,
      },
      child({ dependsOn: [...imagesReady, ...(args.after ? [args.after] : [])], ...FIXED_NAME_CONTAINER }),
    );

    const imagesMount: docker.types.input.ContainerMount = {
      type: "bind",
      source: plan.imagesDir,
      target: plan.master.paths.imagesRoot,
      readOnly: true,
    };
    const waitFor = [...imagesReady, ...(args.after ? [args.after] : [])];
    const filesOf = (instance: string) => args.files[instance] ?? [];

    // One slave at a time: the master always has one to send to (see rolling.ts).
    const slaves = oneAtATime(
      plan.slaves.map((s) => s.name),
      plan.master.slaves.memberRetryMs,
      this,
      (i, after) => {
        const slave = plan.slaves[i]!;
        return new NginxInstance(
          slave.name,
          { plan: slave, engine: plan, image: nginxImage, network: network.name, files: filesOf(slave.name), mounts: [imagesMount] },
          { parent: this, providers: [provider], dependsOn: [...waitFor, ...after] },
        );
      },
      (instance) => instance.container,
    );

    // Beside the others from the start: nginx sends it access logs from its first request on.
    const ops = (this.ops = opsAgent({
      plan: plan.ops,
      image: resizerImage,
      network: network.name,
      ...(plan.ops.acmeDir !== undefined && acmeVolume !== undefined && { acmeVolume: acmeVolume.name }),
      opts: child({ dependsOn: [...waitFor, ...(plan.ops.acmeDir !== undefined ? [cacheOwner] : [])] }),
    }));

    const resizers = new Resizer(
      `${plan.name}-resizers`,
      {
        replicas: plan.resizers,
        image: resizerImage,
        network: network.name,
        images: imagesMount,
        nofile: 4096,
        retryMs: plan.master.resizers.memberRetryMs,
        ...(args.resizerSecrets && { secrets: args.resizerSecrets }),
      },
      { parent: this, providers: [provider], dependsOn: waitFor },
    );

    // --- the master: TLS material next to its config, after everything it proxies to
    // (acme certificates are not uploaded: they come from the acme volume, below.)
    const acmeIds = new Set(args.acme?.cluster.certificates.map((c) => c.id) ?? []);
    const tlsFiles: UploadedFile[] = plan.master.servers.flatMap((server) => server.tls ?? []).flatMap((tlsFile) => {
      if (acmeIds.has(tlsFile.certificate)) return [];
      const cert = args.certificates[tlsFile.certificate];
      if (cert?.certPem === undefined || cert.keyPem === undefined) throw new Error(`${plan.name}: no certificate resource for "${tlsFile.certificate}"`);
      return [
        { path: tlsFile.certPath, content: cert.certPem },
        // Readable by nginx's user alone.
        { path: tlsFile.keyPath, content: cert.keyPem, permissions: "0400", owner: CONTAINER_USERS.nginx },
      ];
    });
    const uniqueTls = [...new Map(tlsFiles.map((f) => [f.path, f])).values()];

    const publish = plan.master.publish;
    const ports: docker.types.input.ContainerPort[] = [];
    if (publish !== undefined) {
      ports.push({ internal: plan.master.http.port, external: publish.http, ip: plan.address });
      if (publish.https !== undefined && plan.master.https !== undefined) {
        ports.push({ internal: plan.master.https.port, external: publish.https, ip: plan.address });
      }
    }

    // --- acme: the bootstrap one-shot gives the master a certificate before it starts
    let init: docker.Container | undefined;
    if (plan.acme !== undefined) {
      const cluster = args.acme?.cluster;
      if (cluster === undefined || acmeVolume === undefined) throw new Error(`${plan.name}: acme plan without the cluster's ACME settings`);
      init = acmeInit({
        acme: plan.acme,
        cluster,
        volume: acmeVolume.name,
        image: acmeImages[cluster.image]!,
        opts: child({ dependsOn: [cacheOwner, ...waitFor] }),
      });
    }

    const master = new NginxInstance(
      plan.master.name,
      {
        plan: plan.master,
        engine: plan,
        image: nginxImage,
        network: network.name,
        files: [...filesOf(plan.master.name), ...uniqueTls],
        mounts: [
          imagesMount,
          cacheMount,
          // acme bundles change outside Pulumi: the master reads them from the volume (read-only).
          ...(acmeMount ? [{ ...acmeMount, readOnly: true }] : []),
        ],
        ports,
      },
      {
        parent: this,
        providers: [provider],
        // The seeds' order: slaves (and resizers) first, the master last; deletion runs
        // the other way round, so the master stops first.
        dependsOn: [...slaves, resizers, cacheOwner, ...(init ? [init] : []), ...waitFor],
      },
    );
    this.master = master;

    // --- the drain: its delete takes the host out of the L4 before the master goes. It
    // depends on the master's id, so the engine deletes it first whenever it deletes the
    // master: a replacement (delete-before-replace deletes it with the master's other
    // dependents, pulumi/pulumi step_generator.go), a network change, a removed host.
    const l4 = args.healthCheck.l4;
    const drain =
      l4 === undefined || publish === undefined
        ? undefined
        : new command.local.Command(
            `${plan.master.name}-drain`,
            { delete: drainCommand(plan, { container: plan.master.name, drainFile: plan.master.paths.drainFile }, l4), triggers: [master.container.id] },
            { parent: this, dependsOn: [master], ...RERUN },
          );

    // --- acme: the sync agent reloads this master; the issuer publishes to the others
    if (plan.acme !== undefined && acmeVolume !== undefined && init !== undefined && args.acme !== undefined) {
      const common = { acme: plan.acme, cluster: args.acme.cluster, volume: acmeVolume.name, image: nginxImage, network: network.name };
      tlsSync({ ...common, master: master.container, ...(args.acme.pki && { pki: args.acme.pki }), opts: child({ dependsOn: [master, ...waitFor] }) });
      if (plan.acme.publisher !== undefined) {
        if (args.acme.pki === undefined) throw new Error(`${plan.name}: the issuer's publisher needs the internal CA`);
        tlsPublisher({ ...common, pki: args.acme.pki, opts: child({ dependsOn: [init, ...waitFor] }) });
      }
      if (plan.acme.role === "issuer") this.acmeSite = { plan, engine: this.engine, network: network.name, volume: acmeVolume.name, ready: [init, ...imagesReady] };
    }

    // --- the gate: the host answers the L4's health check on every published port
    const urls =
      publish === undefined
        ? []
        : [
            hostUrl("http", plan.address, publish.http, args.healthCheck.path),
            ...(publish.https !== undefined ? [hostUrl("https", plan.address, publish.https, args.healthCheck.path)] : []),
          ];
    this.healthGate = new command.local.Command(
      `${plan.name}-healthy`,
      {
        create: healthGateCommand(urls, args.healthCheck.expectStatus, args.healthCheck.timeoutSeconds, l4),
        // Re-run whenever any container of the host was replaced or an nginx reloaded.
        triggers: [
          ...[master, ...slaves].flatMap((n) => [n.container.id, n.reload.id]),
          ...resizers.containers.map((c) => c.id),
        ],
      },
      { parent: this, dependsOn: [master, ...slaves.map((s) => s.reload), ...(drain ? [drain] : [])], ...RERUN },
    );

    this.containers = {
      master: master.containerName,
      slaves: slaves.map((s) => s.containerName),
      resizers: resizers.containerNames,
      ops: ops.name,
    };
    this.registerOutputs({
      containers: this.containers,
      resizerImageId: this.resizerImageId,
    });
  }
}
