// One nginx container (a host's master or one of its slaves): the official image run
// unprivileged with the rendered config uploaded, so a config change is a visible diff
// of that content in `pulumi preview` and replaces exactly this container.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { MasterPlan, SlavePlan } from "../topology.js";
import { CONTAINER_USERS, bashHttpCheck, hardened } from "./hardening.js";

export interface UploadedFile {
  /** Absolute path inside the container. */
  path: string;
  content: pulumi.Input<string>;
  /** Octal mode, e.g. "0400" for private keys (default 0644, owned by root). */
  permissions?: string;
  /** `uid:gid` owning the file; a 0400 key must belong to the user nginx runs as. */
  owner?: string;
}

export interface NginxInstanceArgs {
  plan: MasterPlan | SlavePlan;
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
  readonly containerName: pulumi.Output<string>;

  constructor(name: string, args: NginxInstanceArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("image-origin:cluster:NginxInstance", name, {}, opts);
    const { plan } = args;
    const tuning = plan.role === "master" ? plan.tuning.master : plan.tuning.slave;
    const healthPort = plan.role === "master" ? plan.http.port : plan.listen.port;

    this.container = new docker.Container(
      name,
      {
        name: plan.name,
        image: args.image,
        // nginx itself as PID 1 (no entrypoint script that edits files on a read-only
        // root); SIGQUIT lets it finish in-flight requests. `-e stderr`: before reading the
        // config, an unprivileged nginx cannot open its compiled-in error log.
        entrypoints: ["nginx"],
        command: ["-e", "stderr", "-c", plan.paths.config, "-g", "daemon off;"],
        networkMode: args.network,
        networksAdvanced: [{ name: args.network, ...(plan.ip !== undefined && { ipv4Address: plan.ip }), aliases: [plan.name] }],
        ...(args.ports && { ports: args.ports }),
        mounts: args.mounts,
        uploads: args.files.map((f) => {
          const [owner, group] = (f.owner ?? "").split(":");
          return { file: f.path, content: f.content, permissions: f.permissions ?? "0644", ...(owner && { owner, group: group ?? owner }) };
        }),
        ...hardened({
          user: CONTAINER_USERS.nginx,
          memoryMb: tuning.memoryMb,
          nofile: tuning.workerRlimitNofile,
          tmpfs: { [plan.paths.tempDir]: "64m" },
          stopSignal: "SIGQUIT",
          healthcheck: bashHttpCheck(healthPort, "/healthz"),
        }),
      },
      // A component's dependsOn does not reach its children by itself: pass it on.
      // Fixed names, addresses and published ports cannot exist twice: the old container
      // goes first (pulumi-docker creates the replacement first otherwise).
      { parent: this, dependsOn: opts.dependsOn, deleteBeforeReplace: true },
    );
    this.containerName = this.container.name;
    this.registerOutputs({ containerName: this.containerName, containerId: this.container.id });
  }
}
