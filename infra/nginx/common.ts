// What master and slaves share: the main context, the http-level settings from the seeds
// (mime types, sendfile, keepalive, gzip; the access log is infra/nginx/observability.ts), and the paths that let nginx run
// as an unprivileged user. Pure.
import { hostPort } from "../address.js";
import type { NginxTuning } from "../config.js";
import type { Listen, NginxPaths } from "../topology.js";
import { block, comment, d, section, why, type Node } from "./ast.js";
import { requestLimits } from "./guards.js";

type InstanceTuning = NginxTuning["master"];

export function listenAddress(listen: Listen): string {
  return hostPort(listen.address, listen.port);
}

/** The file's first lines: what it is and that it is generated. */
export function header(instance: string, role: string): Node {
  return comment(
    `${instance}: nginx ${role}, rendered from the stack config by infra/nginx.\n` +
      "Do not edit: change Pulumi.<stack>.yaml and run `npm run render` (see infra/nginx/README.md).",
  );
}

/** Main context: workers, pid and error log (no `user`: the instance runs unprivileged). */
export function mainContext(paths: NginxPaths, tuning: InstanceTuning): Node[] {
  return [
    d("worker_processes", tuning.workerProcesses),
    why(
      "Regular expressions (the master's Accept and key maps on every request, the slaves'\nextension locations) compiled to machine code once, at load.",
      d("pcre_jit", "on"),
    ),
    why("Each worker holds a descriptor per client and per upstream connection.", d("worker_rlimit_nofile", tuning.workerRlimitNofile)),
    why("No `user` directive: the instance already runs as an unprivileged user, so pid and\ntemp files live in a directory that user can write.", d("pid", paths.pid)),
    d("error_log", paths.errorLog),
    block("events", [], [d("worker_connections", tuning.workerConnections)]),
  ];
}

/** The five temp directories under the plan's temp dir (nginx creates them, not their parent). */
function tempPaths(tempDir: string): Node {
  return section(
    "Temp files under the instance's own writable directory (a tmpfs in containers): the\ncompiled-in /var/lib/nginx is not writable by an unprivileged user.",
    (["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] as const).map((kind) => d(`${kind}_temp_path`, `${tempDir}/${kind}`)),
  );
}

/** At most this many cached descriptors per worker (`open_file_cache max=`). */
export const OPEN_FILE_CACHE_MAX = 10_000;
/** Below this many spare descriptors an open_file_cache is not worth having. */
const OPEN_FILE_CACHE_MIN = 100;

/**
 * Descriptors an open_file_cache may keep per worker: what the worker may open besides its
 * connections (`perConnection` each: two on the master, client and upstream), at most
 * OPEN_FILE_CACHE_MAX; undefined when that leaves no room.
 */
export function openFileBudget(t: Pick<InstanceTuning, "workerRlimitNofile" | "workerConnections">, perConnection: number): number | undefined {
  const budget = Math.min(OPEN_FILE_CACHE_MAX, t.workerRlimitNofile - t.workerConnections * perConnection);
  return budget < OPEN_FILE_CACHE_MIN ? undefined : budget;
}

/** How long a buffered access log line may wait for its block to fill. */
export const ACCESS_LOG_FLUSH = "1s";

/**
 * `access_log` parameters for an instance's buffering: a write per block (or per second)
 * instead of one per request, the largest per-request cost of serving a cache HIT after the
 * response itself (bench/results/RESULTS.md). nginx flushes the block on reload and exit.
 */
export function accessLogBuffering(buffer: InstanceTuning["accessLogBuffer"]): string[] {
  return buffer === "off" ? [] : [`buffer=${buffer}`, `flush=${ACCESS_LOG_FLUSH}`];
}

/** Settings both kinds of instance put first in their http block. */
export function httpCommon(
  paths: NginxPaths,
  tuning: Pick<NginxTuning, "keepaliveTimeout" | "keepaliveHeaderTimeout" | "keepaliveRequests" | "gzip">,
  accessLog: Node[],
): Node[] {
  return [
    d("include", paths.mimeTypes),
    d("default_type", "application/octet-stream"),
    d("charset", "UTF-8"),
    why("Redirects carry a path only: the port nginx listens on is not the one clients use.", d("absolute_redirect", "off")),
    d("server_tokens", "off"),
    ...accessLog,
    section(undefined, [
      d("sendfile", "on"),
      d("tcp_nopush", "on"),
      d("keepalive_timeout", tuning.keepaliveTimeout, tuning.keepaliveHeaderTimeout),
      why(
        "The seeds' keepalive_requests 5 closed a client's connection every five thumbnails.",
        d("keepalive_requests", tuning.keepaliveRequests),
      ),
    ]),
    requestLimits(),
    section("gzip as in the seeds: text only; images are already compressed.", [
      d("gzip", "on"),
      d("gzip_min_length", tuning.gzip.minLength),
      d("gzip_buffers", 4, "8k"),
      d("gzip_http_version", "1.1"),
      d("gzip_comp_level", tuning.gzip.compLevel),
      d("gzip_types", ...tuning.gzip.types),
      d("gzip_vary", "on"),
      d("gzip_disable", "msie6"),
    ]),
    tempPaths(paths.tempDir),
  ];
}
