// A host's resizer replicas: the same image, each with its own port and fixed address;
// their whole configuration is the RESIZER_* environment derived in topology/host.ts.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ResizerPlan } from "../topology.js";
import { PROCESS_ENV } from "../../resizer/src/settings.js";
import { providerCpus } from "../providerForm.js";
import { CONTAINER_USERS, FIXED_NAME_CONTAINER, HEALTH_TIMING, hardened } from "./hardening.js";
import { dependsOnPlus, oneAtATime } from "./rolling.js";

export interface ResizerArgs {
  replicas: ResizerPlan[];
  image: pulumi.Input<string>;
  network: pulumi.Input<string>;
  /** The images tree, mounted read-only. */
  images: docker.types.input.ContainerMount;
  /** Open-file limit: the resizer holds one source file per transform plus sockets. */
  nofile: number;
  /** The master's fail_timeout for a replica: the pause between two replacements. */
  retryMs: number;
  /** Secrets the process reads from its environment (a JSON list of signing keys). */
  secrets?: { signingKeys: pulumi.Output<string> };
}

const plainEnv = (replica: ResizerPlan) => Object.entries(replica.env).map(([key, value]) => `${key}=${value}`);

export class Resizer extends pulumi.ComponentResource {
  readonly containers: docker.Container[];
  readonly containerNames: pulumi.Output<string[]>;

  constructor(name: string, args: ResizerArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("image-origin:cluster:Resizer", name, {}, opts);
    // One replica at a time: the others keep resizing (see rolling.ts).
    this.containers = oneAtATime(
      args.replicas.map((r) => r.name),
      args.retryMs,
      this,
      (i, after) => {
        const replica = args.replicas[i]!;
        return new docker.Container(
          replica.name,
          {
            name: replica.name,
            image: args.image,
            // With signing keys the whole list is a secret in state and previews; plan.json
            // (npm run render, npm run diff) still shows every other variable.
            envs: args.secrets
              ? args.secrets.signingKeys.apply((keys) => [...plainEnv(replica), `${PROCESS_ENV.signingKeys}=${keys}`])
              : plainEnv(replica),
            networkMode: args.network,
            networksAdvanced: [{ name: args.network, ...(replica.ip !== undefined && { ipv4Address: replica.ip }), aliases: [replica.name] }],
            mounts: [args.images],
            cpus: providerCpus(replica.cpus),
            ...hardened({
              user: CONTAINER_USERS.resizer,
              memoryMb: replica.memoryMb,
              nofile: args.nofile,
              // libvips spills very large intermediates to disk.
              tmpfs: { "/tmp": "128m" },
              stopSignal: "SIGTERM",
              stopGraceSeconds: replica.stopGraceSeconds,
              // The image's own probe (resizer/src/healthcheck.ts: /healthz on RESIZER_PORT).
              healthcheck: { tests: ["CMD", "node", "dist/healthcheck.js"], ...HEALTH_TIMING },
            }),
          },
          { parent: this, dependsOn: dependsOnPlus(opts.dependsOn, after), ...FIXED_NAME_CONTAINER },
        );
      },
      (container) => container,
    );
    this.containerNames = pulumi.all(this.containers.map((c) => c.name));
    this.registerOutputs({ containerNames: this.containerNames });
  }
}
