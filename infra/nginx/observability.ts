// What master and slaves give the host's ops agent (infra/topology/ops.ts): a JSON access
// log, one line per request, to their usual log and as syslog datagrams to the agent; a
// private stub_status listener only the agent may ask; and, on the master, the route that
// answered each request. Pure: plan in, nodes out.
import { NGINX_NAMES, type NginxOps } from "../topology.js";
import { STUB_STATUS_PATH } from "../topology/ops.js";
import { block, d, entry, expr, lit, regex, section, why, wrapped, type Directive, type Node } from "./ast.js";
import type { NginxTuning } from "../config.js";
import { accessLogBuffering, listenAddress } from "./common.js";

type AccessLogBuffer = NginxTuning["master"]["accessLogBuffer"];

/** Variables the access log reads that nginx does not have by itself. */
export const LOG_VARIABLES = {
  /** The label of the location that answered (`set` in each location; survives error_page). */
  route: "origin_route",
  /** The request's path as the client sent it, without the query ($uri changes on internal redirects). */
  path: "origin_path",
  /** Slaves: the master's request id (X-Request-Id), else their own. */
  requestId: "origin_request_id",
} as const;

const v = (name: string) => `$${name}`;

export interface LogField {
  name: string;
  /** The nginx expression written into the line. */
  value: (ctx: { requestId: string; instance: string }) => string;
  /** JSON number (always numeric in nginx) or string. */
  json: "number" | "string";
  doc: string;
}

/**
 * The access log's fields, in order: one JSON object per request (`escape=json`). README's
 * field table is generated from this list, and the ops agent reads `status`, `bytes`,
 * `request_time`, `route`, `cache` and the upstream lists.
 */
export const ACCESS_LOG_FIELDS: readonly LogField[] = [
  { name: "time", value: () => "$time_iso8601", json: "string", doc: "when the request ended, local time with offset (ISO 8601)" },
  { name: "request_id", value: ({ requestId }) => requestId, json: "string", doc: "32 hex digits; the master sends it to slaves and resizers as `X-Request-Id`, which they log as theirs (the resizer's `id`)" },
  { name: "instance", value: ({ instance }) => instance, json: "string", doc: "the nginx instance that wrote the line (`img01-master`, `img01-slave02`)" },
  { name: "remote_addr", value: () => "$remote_addr", json: "string", doc: "the client's address (for a slave: its master's)" },
  { name: "method", value: () => "$request_method", json: "string", doc: "HTTP method" },
  { name: "host", value: () => "$host", json: "string", doc: "the `Host` header, lowercased, without port (else the server name)" },
  { name: "path", value: () => v(LOG_VARIABLES.path), json: "string", doc: "the path as the client sent it, still %-encoded, without the query" },
  { name: "query", value: () => "$args", json: "string", doc: "the query string, empty when none" },
  { name: "protocol", value: () => "$server_protocol", json: "string", doc: "`HTTP/1.1`, `HTTP/2.0`" },
  { name: "tls", value: () => "$ssl_protocol", json: "string", doc: "`TLSv1.2`, `TLSv1.3`; empty over plain HTTP" },
  { name: "status", value: () => "$status", json: "number", doc: "the status sent to the client" },
  { name: "bytes", value: () => "$body_bytes_sent", json: "number", doc: "response body bytes sent to the client (headers excluded)" },
  { name: "request_time", value: () => "$request_time", json: "number", doc: "seconds, millisecond resolution, from the first byte read from the client to the last byte sent" },
  { name: "route", value: () => v(LOG_VARIABLES.route), json: "string", doc: "master: the location that answered, `thumbnail`, `static`, `acme` or a public route of the resizer (`resize`, `legacy`); slaves: `static`; empty elsewhere" },
  { name: "upstream", value: () => "$upstream_addr", json: "string", doc: "per try, the member asked (`10.213.0.11:8001, 10.213.0.12:8002`: a retry); the upstream's name when no member was available; ` : ` separates the upstreams of an internal redirect; empty when nginx answered itself" },
  { name: "upstream_status", value: () => "$upstream_status", json: "string", doc: "per try, that member's status (`502` when it gave none), in the same order" },
  { name: "upstream_time", value: () => "$upstream_response_time", json: "string", doc: "per try, seconds until that member's last byte, in the same order" },
  { name: "upstream_connect_time", value: () => "$upstream_connect_time", json: "string", doc: "per try, seconds to connect (`-` when the connection failed)" },
  { name: "cache", value: () => "$upstream_cache_status", json: "string", doc: "resize routes: `HIT`, `MISS`, `EXPIRED`, `STALE`, `UPDATING`, `REVALIDATED` or `BYPASS`; empty where no cache is involved" },
  { name: "referer", value: () => "$http_referer", json: "string", doc: "the `Referer` header" },
  { name: "user_agent", value: () => "$http_user_agent", json: "string", doc: "the `User-Agent` header" },
  { name: "forwarded_for", value: () => "$http_x_forwarded_for", json: "string", doc: "the `X-Forwarded-For` header as received" },
];

function logFormat(ctx: { requestId: string; instance: string }): Node {
  const parts = ACCESS_LOG_FIELDS.map((f, i) => {
    const value = f.json === "string" ? `"${f.value(ctx)}"` : f.value(ctx);
    return expr(`${i === 0 ? "{" : ""}"${f.name}":${value}${i === ACCESS_LOG_FIELDS.length - 1 ? "}" : ","}`);
  });
  return why(
    "One JSON object per request (fields: README, Access log). escape=json escapes every\nvariable's value as a JSON string does.",
    wrapped(d("log_format", NGINX_NAMES.logFormat, "escape=json", ...parts), 2),
  );
}

/**
 * The access log: the instance's own log (a file locally, stdout in a container, rotated by
 * Docker), written in blocks when `buffer` says so, and the same line to the host's ops
 * agent, which counts it. UDP never blocks nginx: a line the agent misses costs a count,
 * never a request.
 */
function accessLogs(accessLog: string, buffer: AccessLogBuffer, ops: NginxOps): Node[] {
  return [
    d("access_log", accessLog, NGINX_NAMES.logFormat, ...accessLogBuffering(buffer)),
    d("access_log", lit(`syslog:server=${listenAddress(ops.syslog)},tag=${ops.tag},nohostname`), NGINX_NAMES.logFormat),
  ];
}

/** The path without the query, as sent ($request_uri never changes during a request). */
function pathMap(): Node {
  return why(
    "The access log's path: as the client sent it, without the query ($uri changes when an\nerror page answers).",
    block("map", [expr("$request_uri"), expr(v(LOG_VARIABLES.path))], [entry(regex("~^(?<path>[^?]*)"), expr("$path"))]),
  );
}

/** The log format, its variables and both log destinations, for the http block. */
export function accessLog(args: { accessLog: string; buffer: AccessLogBuffer; ops: NginxOps; instance: string; role: "master" | "slave" }): Node[] {
  const requestId = args.role === "master" ? "$request_id" : v(LOG_VARIABLES.requestId);
  return [
    section(undefined, [
      pathMap(),
      args.role === "slave" &&
        why(
          "The master's request id (it sends X-Request-Id), so a request has one id in every log.",
          block("map", [expr("$http_x_request_id"), expr(v(LOG_VARIABLES.requestId))], [entry("default", expr("$http_x_request_id")), entry("", expr("$request_id"))]),
        ),
    ]),
    logFormat({ requestId, instance: args.instance }),
    ...accessLogs(args.accessLog, args.buffer, args.ops),
  ];
}

/** Records which location answered (the `route` field and label); an error page keeps it. */
export function routeLabel(label: string): Directive {
  return d("set", expr(v(LOG_VARIABLES.route)), label);
}

/** The private stub_status listener: the ops agent's alone, never published. */
export function statusServer(ops: NginxOps): Node {
  return why(
    "Connection and request counters for the host's ops agent only (its address is the one\nallowed); this port is never published.",
    block("server", [], [
      d("listen", listenAddress(ops.status)),
      d("access_log", "off"),
      d("allow", ops.agent),
      d("deny", "all"),
      block("location", ["=", STUB_STATUS_PATH], [d("stub_status")]),
      block("location", ["/"], [d("return", 404)]),
    ]),
  );
}
