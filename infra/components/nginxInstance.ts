// One nginx instance (a host's master or one of its slaves): the official image run
// unprivileged on a read-only root, its rendered files in a volume it mounts read-only.
//
// The provider copies `uploads` to `/` of a container, which Docker refuses on a
// read-only root; so a one-shot `<name>-files` container (writable root, no network, only
// CAP_CHOWN) receives the files, has nginx check them, and installs them into the volume
// with the owners and modes nginx needs (install.ts). A change of content is a diff of that
// container's uploads in `pulumi preview`; `<name>-reload` then reloads the running nginx
// gracefully (remote.ts). The container itself is not replaced for new files: a master
// replacement would take its host out of the VIP until it is healthy again.
import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { nginxCheck, nginxServe, reloadCommand } from "../remote.js";
import { CONTAINER, HEALTH, instanceName, type HostPlan, type MasterPlan, type SlavePlan } from "../topology.js";
import { CONTAINER_USERS, FIXED_NAME_CONTAINER, bashHttpCheck, hardened } from "./hardening.js";
import { installerContainerArgs } from "./installer.js";
import { RERUN, dependsOnPlus } from "./rolling.js";

export interface UploadedFile {
  /** Absolute path inside the instance, under CONTAINER.configDir. */
  path: string;
  content: pulumi.Input<string>;
  /** Octal mode, e.g. "0400" for private keys (default 0644, owned by root). */
  permissions?: string;
  /** `uid:gid` owning the file; a 0400 key must belong to the user nginx runs as. */
  owner?: string;
}

export interface NginxInstanceArgs {
  plan: MasterPlan | SlavePlan;
  /** The host's engine, for the reload (the provider has no exec). */
  engine: Pick<HostPlan, "docker" | "sshOpts">;
  image: pulumi.Input<string>;
  network: pulumi.Input<string>;
  files: UploadedFile[];
  /** Bind and volume mounts (images tree, cache volume). */
  mounts: docker.types.input.ContainerMount[];
  /** Host ports to publish (the master only). */
  ports?: docker.types.input.ContainerPort[];
}

export class NginxInstance extends pulumi.ComponentResource {
  readonly container: docker.Container;
  readonly installer: docker.Container;
  /** Runs again whenever the instance's files change. */
  readonly reload: command.local.Command;
  readonly containerName: pulumi.Output<string>;

  constructor(name: string, args: NginxInstanceArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("image-origin:cluster:NginxInstance", name, {}, opts);
    const { plan } = args;
    const tuning = plan.role === "master" ? plan.tuning.master : plan.tuning.slave;
    const healthPort = plan.role === "master" ? plan.http.port : plan.listen.port;
    const configDir = CONTAINER.configDir;
    // The files volume and the one-shot that fills it share this name.
    const filesName = instanceName.installer(plan.name);

    const filesVolume = new docker.Volume(filesName, { name: filesName }, { parent: this });

    // A component's dependsOn does not reach its children by itself: pass it on.
    const childOpts = { parent: this, dependsOn: opts.dependsOn, ...FIXED_NAME_CONTAINER };

    this.installer = new docker.Container(
      filesName,
      installerContainerArgs({
        name: filesName,
        image: args.image,
        volume: filesVolume.name,
        files: args.files.map((f) => ({ path: f.path, content: f.content, ...(f.permissions && { mode: f.permissions }), ...(f.owner && { owner: f.owner }) })),
        checkDirs: plan.writableDirs,
        check: nginxCheck(plan.paths.config),
        // What the config reads besides its own files (the acme bundles), for the check.
        checkMounts: args.mounts.filter((m) => m.readOnly === true),
      }),
      childOpts,
    );

    const filesHash = pulumi
      .all(args.files.map((f) => pulumi.all([f.path, f.content])))
      .apply((pairs) => pairs.reduce((h, [path, content]) => h.update(path).update("\0").update(content).update("\0"), createHash("sha256")).digest("hex"));

    const serve = nginxServe(plan.paths.config);
    this.container = new docker.Container(
      name,
      {
        name: plan.name,
        image: args.image,
        // nginx itself as PID 1 (no entrypoint script that edits files on a read-only
        // root); SIGQUIT lets it finish in-flight requests.
        entrypoints: [serve[0]!],
        command: serve.slice(1),
        networkMode: args.network,
        networksAdvanced: [{ name: args.network, ...(plan.ip !== undefined && { ipv4Address: plan.ip }), aliases: [plan.name] }],
        ...(args.ports && { ports: args.ports }),
        mounts: [...args.mounts, { type: "volume", source: filesVolume.name, target: configDir, readOnly: true }],
        ...hardened({
          user: CONTAINER_USERS.nginx,
          memoryMb: tuning.memoryMb,
          nofile: tuning.workerRlimitNofile,
          tmpfs: { [plan.paths.tempDir]: "64m" },
          stopSignal: "SIGQUIT",
          healthcheck: bashHttpCheck(healthPort, HEALTH.path),
        }),
      },
      { ...childOpts, dependsOn: dependsOnPlus(opts.dependsOn, [this.installer]) },
    );
    this.reload = new command.local.Command(
      `${plan.name}-reload`,
      { create: reloadCommand(args.engine, { container: plan.name, installer: filesName, check: nginxCheck(plan.paths.config) }), triggers: [filesHash] },
      { parent: this, dependsOn: [this.installer, this.container], ...RERUN },
    );
    this.containerName = this.container.name;
    this.registerOutputs({ containerName: this.containerName, containerId: this.container.id });
  }
}
