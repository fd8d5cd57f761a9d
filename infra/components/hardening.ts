// What every long-running container of the cluster gets, in one place: a non-root user,
// a read-only root filesystem, no capabilities, no privilege escalation, limits, a
// restart policy, rotated logs and a graceful stop; every value in the form the Docker
// provider reads back (providerForm.ts), so a second `up` sees no change.
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { goDuration } from "../providerForm.js";

/**
 * nginx's user in the official image; the resizer's in resizer/Dockerfile; HAProxy's in
 * infra/vip/Dockerfile. keepalived alone runs as root (CONTAINER.keepalived.privileges).
 */
export const CONTAINER_USERS = { nginx: "101:101", resizer: "1000:1000", haproxy: "99:99" } as const;

export interface HardeningArgs {
  user: string;
  memoryMb: number;
  /** `nofile` soft and hard limit (nginx: worker_rlimit_nofile). */
  nofile: number;
  /** Writable tmpfs mounts (path -> size), the only writable paths besides volumes. */
  tmpfs: Record<string, string>;
  stopSignal: "SIGQUIT" | "SIGTERM" | "SIGUSR1";
  healthcheck: HealthCheck;
  /** Seconds to finish in-flight requests on stop and delete (default STOP_GRACE_SECONDS). */
  stopGraceSeconds?: number;
  /** Capabilities added back after dropping all (keepalived's NET_ADMIN and NET_RAW only). */
  capAdd?: string[];
}

/**
 * A one-shot container that only sets files' owner or installs files as root: CHOWN is its
 * only capability, it has no network, runs to completion at creation (`attach`) and is
 * then left exited. Fresh arrays each call: resources must not share mutable inputs.
 */
export function ownerSettingOneShot() {
  return {
    user: "0:0",
    capabilities: { drops: ["ALL"], adds: ["CHOWN"] },
    securityOpts: ["no-new-privileges:true"],
    networkMode: "none",
    attach: true,
    mustRun: false,
    restart: "no",
  };
}

/** Seconds a container gets to finish in-flight requests on stop and on delete. */
export const STOP_GRACE_SECONDS = 30;

/**
 * Log rotation by the Docker log driver (the seeds' pid-file/logrotate trouble goes
 * away). `local` with EVERY option it accepts set explicitly: dockerd merges daemon.json
 * `log-opts` into a container's unset keys when it uses the daemon's default driver, and
 * the provider would then see a diff (a replacement) on every `up`.
 */
export const LOG_CONFIG = {
  logDriver: "local",
  logOpts: { "max-size": "20m", "max-file": "5", compress: "true", mode: "non-blocking", "max-buffer-size": "4m" },
} as const;

export function hardened(args: HardeningArgs): Partial<docker.ContainerArgs> {
  // Owned by the container's user: Docker applies `mode` only at a container's first start
  // and remounts with 0755 root:root on every restart (moby/moby#20437, docker/for-linux#138),
  // which left a restarted nginx unable to create its temp directories. An owner sticks.
  const [uid, gid] = args.user.split(":");
  const tmpfs = Object.fromEntries(
    Object.entries(args.tmpfs).map(([path, size]) => [path, `rw,noexec,nosuid,nodev,size=${size},uid=${uid},gid=${gid},mode=1777`]),
  );
  return {
    user: args.user,
    readOnly: true,
    tmpfs,
    capabilities: { drops: ["ALL"], ...(args.capAdd && { adds: args.capAdd }) },
    securityOpts: ["no-new-privileges:true"],
    memory: args.memoryMb,
    // No swap (memory + swap = memory). Unset, dockerd stores twice the memory (moby
    // daemon_unix.go), which the provider reads back as a change on the next `up`.
    memorySwap: args.memoryMb,
    ulimits: [{ name: "nofile", soft: args.nofile, hard: args.nofile }],
    restart: "unless-stopped",
    ...LOG_CONFIG,
    logOpts: { ...LOG_CONFIG.logOpts },
    healthcheck: {
      tests: args.healthcheck.tests,
      interval: goDuration(args.healthcheck.intervalSeconds),
      timeout: goDuration(args.healthcheck.timeoutSeconds),
      retries: args.healthcheck.retries,
      startPeriod: goDuration(args.healthcheck.startPeriodSeconds),
    },
    // The container must be healthy before anything that depends on it is created: the
    // seeds' start order (slaves and resizers, then the master) with a check in between.
    wait: true,
    waitTimeout: 90,
    stopSignal: args.stopSignal,
    stopTimeout: args.stopGraceSeconds ?? STOP_GRACE_SECONDS,
    destroyGraceSeconds: args.stopGraceSeconds ?? STOP_GRACE_SECONDS,
  };
}

/** A container's healthcheck; durations in seconds (hardened() writes them as Go prints them). */
export interface HealthCheck {
  tests: string[];
  intervalSeconds: number;
  timeoutSeconds: number;
  retries: number;
  startPeriodSeconds: number;
}

/** How often and how patiently every serving container's healthcheck runs. */
export const HEALTH_TIMING = { intervalSeconds: 10, timeoutSeconds: 3, retries: 3, startPeriodSeconds: 5 } as const;

/**
 * Options of every container with a fixed name. Fixed names cannot exist twice: the old
 * container goes first (pulumi-docker creates the replacement first otherwise, #1356).
 * The provider's Update applies only restart and resource limits (kreuzwerker v4.5.0
 * resource_docker_container_funcs.go L1016-1019): a changed healthcheck or tmpfs would be
 * recorded in state and never reach the container, so those replace it.
 */
export const FIXED_NAME_CONTAINER: Pick<pulumi.CustomResourceOptions, "deleteBeforeReplace" | "replaceOnChanges"> = {
  deleteBeforeReplace: true,
  replaceOnChanges: ["healthcheck", "tmpfs"],
};

/**
 * An HTTP health check that needs nothing but bash (present in the Debian-based nginx
 * image, which ships no curl guarantee): request the path on loopback and require 200.
 */
export function bashHttpCheck(port: number, path: string): HealthCheck {
  const script = [
    `exec 3<>/dev/tcp/127.0.0.1/${port}`,
    `printf 'GET ${path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3`,
    `read -r _ status _ <&3`,
    `[ "$status" = 200 ]`,
  ].join(" && ");
  return { tests: ["CMD", "bash", "-c", script], ...HEALTH_TIMING };
}
