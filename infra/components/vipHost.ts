// One L4 host of the software VIP (`vip.mode: haproxy`): its engine (the provider and the
// HAProxy/keepalived image delivered to it), HAProxy in a container network of its own,
// keepalived beside it on the host's network, and a gate that waits until this host's
// HAProxy can serve.
//
// Both programs read their rendered files from a volume filled by a one-shot installer
// after their own check passed (as the nginx instances do: install.ts), so a changed
// config is a new installer and a graceful reload of the running program (HAProxy:
// SIGUSR2 after saving the hosts' states; keepalived: SIGHUP), never a replaced container:
// a replaced HAProxy would drop every connection the VIP holds on this host.
import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { hostUrl } from "../address.js";
import {
  haproxyCheck,
  haproxySaveState,
  haproxyServe,
  healthGateCommand,
  keepalivedCheck,
  keepalivedCheckWithoutInterfaces,
  keepalivedServe,
  reloadCommand,
  type ImageOrigin,
  type ReloadTarget,
} from "../remote.js";
import type { InstanceFile } from "../render.js";
import { CONTAINER, HEALTH, VIP_OPS, instanceName, type VipHostPlan } from "../topology.js";
import { DockerEngine, type ImageDelivery } from "./dockerEngine.js";
import { CONTAINER_USERS, FIXED_NAME_CONTAINER, HEALTH_TIMING, bashHttpCheck, hardened } from "./hardening.js";
import { installerContainerArgs } from "./installer.js";
import { RERUN, dependsOnPlus } from "./rolling.js";

export interface VipHostArgs {
  plan: VipHostPlan;
  /** The HAProxy/keepalived image, where the operator's engine gets it, and how it reaches the host. */
  image: { ref: string; origin: ImageOrigin; delivery: ImageDelivery };
  /** Rendered files per instance name (vipFiles in render.ts). */
  files: Record<string, InstanceFile[]>;
  /** How long the gate waits for this host's HAProxy to serve. */
  timeoutSeconds: number;
}

/** keepalived's privileges: its documented exception (CONTAINER.keepalived.privileges). */
const KEEPALIVED = CONTAINER.keepalived.privileges;

/** A program whose rendered files live in a volume filled by a checked one-shot installer. */
interface Installed {
  volume: docker.Volume;
  installer: docker.Container;
  /** sha256 of the files: a reload runs again when it changes. */
  filesHash: pulumi.Output<string>;
}

function installed(
  parent: pulumi.Resource,
  provider: docker.Provider,
  instance: string,
  image: pulumi.Input<string>,
  files: InstanceFile[],
  check: string[],
  dependsOn: pulumi.Input<pulumi.Input<pulumi.Resource>[]>,
): Installed {
  const name = instanceName.installer(instance);
  const volume = new docker.Volume(name, { name }, { parent, provider });
  const installer = new docker.Container(
    name,
    installerContainerArgs({ name, image, volume: volume.name, files: files.map((f) => ({ path: f.path, content: f.content, ...(f.mode && { mode: f.mode }) })), checkDirs: [], check }),
    { parent, provider, dependsOn, ...FIXED_NAME_CONTAINER },
  );
  const filesHash = pulumi.output(files.reduce((h, f) => h.update(f.path).update("\0").update(f.content).update("\0"), createHash("sha256")).digest("hex"));
  return { volume, installer, filesHash };
}

export class VipHost extends pulumi.ComponentResource {
  readonly engine: DockerEngine;
  readonly haproxy: docker.Container;
  readonly keepalived: docker.Container;
  /** Runs again whenever HAProxy's files change: a graceful reload, never a replacement. */
  readonly haproxyReload: command.local.Command;
  readonly keepalivedReload: command.local.Command;
  readonly healthGate: command.local.Command;

  constructor(name: string, args: VipHostArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("image-origin:cluster:VipHost", name, {}, opts);
    const { plan } = args;
    this.engine = new DockerEngine(
      `${plan.name}-engine`,
      { host: plan, images: [{ name: "vip", ref: args.image.ref, origin: args.image.origin }], delivery: args.image.delivery },
      { parent: this },
    );
    const provider = this.engine.provider;
    const image = this.engine.imageIds[args.image.ref]!;
    const waitFor = dependsOnPlus(opts.dependsOn, this.engine.ready);
    const child = (extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions => ({ parent: this, provider, ...extra });
    const filesOf = (instance: string) => args.files[instance] ?? [];
    const configMount = (volume: docker.Volume): docker.types.input.ContainerMount => ({ type: "volume", source: volume.name, target: CONTAINER.configDir, readOnly: true });

    // --- HAProxy: its own network; the VIP ports published on every address (the VIP
    // moves between L4 hosts), the ops port on this host's address only.
    const h = plan.haproxy;
    if (plan.network === undefined || h.publish === undefined) throw new Error(`${plan.name}: a container plan gives the L4 host a network and published ports`);
    const network = new docker.Network(
      plan.network.name,
      { name: plan.network.name, driver: "bridge", ipamConfigs: [{ subnet: plan.network.subnet, gateway: plan.network.gateway }] },
      // A changed subnet replaces the network, and the engine deletes HAProxy before it: after
      // the previous L4 host's gate, so one L4 host at a time (as the image hosts' networks).
      child({ deleteBeforeReplace: true, dependsOn: dependsOnPlus(opts.dependsOn, []) }),
    );
    const haproxyFiles = installed(this, provider, h.name, image, filesOf(h.name), haproxyCheck(h.paths.config), waitFor);
    const serve = haproxyServe(h.paths);
    this.haproxy = new docker.Container(
      h.name,
      {
        name: h.name,
        image,
        entrypoints: [serve[0]!],
        command: serve.slice(1),
        networkMode: network.name,
        networksAdvanced: [{ name: network.name, aliases: [h.name] }],
        // In the order the provider reads bindings back (by port, lifecycle/facts.ts `ports`):
        // another order would be a change, a replacement, on every `up`.
        ports: [...h.publish].sort((a, b) => a.internal - b.internal).map((p) => ({ internal: p.internal, external: p.port, ip: p.address })),
        mounts: [configMount(haproxyFiles.volume)],
        ...hardened({
          user: CONTAINER_USERS.haproxy,
          memoryMb: h.memoryMb,
          // HAProxy sizes its maxconn from this.
          nofile: h.nofile,
          tmpfs: { [h.paths.runDir]: "16m" },
          stopSignal: "SIGUSR1",
          healthcheck: bashHttpCheck(h.stats.port, VIP_OPS.health),
        }),
      },
      child({ dependsOn: dependsOnPlus(waitFor, [haproxyFiles.installer]), ...FIXED_NAME_CONTAINER }),
    );
    const reload = (target: ReloadTarget, installer: Installed, container: docker.Container) =>
      new command.local.Command(
        `${target.container}-reload`,
        { create: reloadCommand(plan, target), triggers: [installer.filesHash] },
        { parent: this, dependsOn: [installer.installer, container], ...RERUN },
      );
    // A refused reload is HAProxy's "Loading failure!" (the old processes keep serving); its
    // other alerts (a backend with no host up) say nothing about the new config.
    this.haproxyReload = reload(
      { container: h.name, installer: instanceName.installer(h.name), check: haproxyCheck(h.paths.config), signal: "USR2", before: [haproxySaveState(h.paths)], refused: "Loading failure" },
      haproxyFiles,
      this.haproxy,
    );

    // --- keepalived: on the host's network, root with NET_ADMIN and NET_RAW only (see
    // CONTAINER.keepalived.privileges); holds the VIP while this host's HAProxy answers its check.
    const k = plan.keepalived;
    // The installer has no network, so no interfaces: the full check runs before each reload.
    const keepalivedFiles = installed(this, provider, k.name, image, filesOf(k.name), keepalivedCheckWithoutInterfaces(k.paths.config), waitFor);
    const vrrpAlive = `kill -0 "$(cat ${k.paths.vrrpPidFile})"`;
    this.keepalived = new docker.Container(
      k.name,
      {
        name: k.name,
        image,
        entrypoints: keepalivedServe(k.paths).slice(0, 1),
        command: keepalivedServe(k.paths).slice(1),
        networkMode: KEEPALIVED.networkMode,
        mounts: [configMount(keepalivedFiles.volume)],
        ...hardened({
          user: KEEPALIVED.user,
          memoryMb: 64,
          nofile: 1024,
          tmpfs: { [k.paths.runDir]: "1m" },
          // keepalived gives the VIP up on SIGTERM (priority 0): the next host takes it at once.
          stopSignal: "SIGTERM",
          capAdd: [...KEEPALIVED.capAdd],
          healthcheck: { tests: ["CMD", "sh", "-c", vrrpAlive], ...HEALTH_TIMING },
        }),
      },
      // After HAProxy: a keepalived whose HAProxy is not serving yet would only go to FAULT.
      child({ dependsOn: dependsOnPlus(waitFor, [keepalivedFiles.installer, this.haproxy]), ...FIXED_NAME_CONTAINER }),
    );
    this.keepalivedReload = reload(
      { container: k.name, installer: instanceName.installer(k.name), check: keepalivedCheck(k.paths.config) },
      keepalivedFiles,
      this.keepalived,
    );

    // --- the gate: this host's HAProxy serves (its liveness, answered 503 without any host).
    const stats = h.publish.find((p) => p.service === "stats")!;
    this.healthGate = new command.local.Command(
      `${plan.name}-healthy`,
      {
        create: healthGateCommand([hostUrl("http", stats.address, stats.port, VIP_OPS.health)], HEALTH.status, args.timeoutSeconds),
        triggers: [this.haproxy.id, this.haproxyReload.id, this.keepalived.id],
      },
      { parent: this, dependsOn: [this.haproxy, this.haproxyReload, this.keepalived], ...RERUN },
    );
    this.registerOutputs({ haproxy: this.haproxy.name, keepalived: this.keepalived.name });
  }
}
