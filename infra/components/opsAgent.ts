// A host's ops agent: the resizer image running its ops entry point (resizer/src/ops),
// on the host's private network at a fixed address (nginx sends it access logs there),
// its listener published on the host's own address only. Hardened like every serving
// container; it runs as nginx's uid so that, on the ACME issuer, it can read the
// renewers' result files (0600, nginx's uid) from the acme volume, mounted read-only.
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { OPS_COMMANDS, OPS_PATHS, toOpsEnv } from "../../resizer/src/ops/config.js";
import type { OpsPlan } from "../topology.js";
import { CONTAINER_USERS, FIXED_NAME_CONTAINER, HEALTH_TIMING, hardened } from "./hardening.js";

export interface OpsAgentArgs {
  plan: OpsPlan;
  /** The resizer image's id on the host. */
  image: pulumi.Input<string>;
  network: pulumi.Input<string>;
  /** The host's acme volume (the issuer reads its renewers' results). */
  acmeVolume?: pulumi.Input<string>;
  opts: pulumi.CustomResourceOptions;
}

export function opsAgent(args: OpsAgentArgs): docker.Container {
  const { plan } = args;
  if (plan.acmeDir !== undefined && args.acmeVolume === undefined) throw new Error(`${plan.name}: reads ACME results but got no acme volume`);
  return new docker.Container(
    plan.name,
    {
      name: plan.name,
      image: args.image,
      command: [...OPS_COMMANDS.serve],
      envs: Object.entries(toOpsEnv(plan.config)).map(([key, value]) => `${key}=${value}`),
      networkMode: args.network,
      networksAdvanced: [{ name: args.network, ...(plan.ip !== undefined && { ipv4Address: plan.ip }), aliases: [plan.name] }],
      // TCP only: the access logs (UDP) come over the private network, never from outside.
      ...(plan.publish && { ports: [{ internal: plan.listen.port, external: plan.publish.port, ip: plan.publish.address }] }),
      ...(plan.acmeDir !== undefined && args.acmeVolume !== undefined && { mounts: [{ type: "volume", source: args.acmeVolume, target: plan.acmeDir, readOnly: true }] }),
      ...hardened({
        user: CONTAINER_USERS.nginx,
        memoryMb: plan.memoryMb,
        nofile: 4096,
        tmpfs: { "/tmp": "16m" },
        stopSignal: "SIGTERM",
        healthcheck: { tests: ["CMD", ...OPS_COMMANDS.get(OPS_PATHS.health)], ...HEALTH_TIMING },
      }),
    },
    { ...args.opts, ...FIXED_NAME_CONTAINER },
  );
}
