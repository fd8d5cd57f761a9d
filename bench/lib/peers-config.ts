// The peers the benchmark measures image-origin against, as configuration: one nginx with
// five servers (php-fpm + GD as the seeds ran it, nginx's image_filter, and a plain
// static file server logging as the master does, logging unbuffered, and not logging) and
// a php-fpm pool. The nginx
// config is built from the project's AST and shares the master's main context and
// http-level settings (workers, log format, access log, sendfile, keepalive, gzip), so the
// only difference from the master is what each location does. Pure.
import { block, config, d, expr, section, why, type Node } from "../../infra/nginx/ast.js";
import { hostPort } from "../../infra/address.js";
import { httpCommon, listenAddress, mainContext } from "../../infra/nginx/common.js";
import { accessLog, routeLabel } from "../../infra/nginx/observability.js";
import { print } from "../../infra/nginx/print.js";
import { type Listen, type MasterPlan, type NginxPaths } from "../../infra/topology.js";
import { TARGET } from "./workload.js";

/** Where Debian's libnginx-mod-http-image-filter puts the module (load_module needs an absolute path). */
export const IMAGE_FILTER_MODULE = "/usr/lib/nginx/modules/ngx_http_image_filter_module.so";
/** The URL prefix of image_filter's location; the rest of the path is the file under the images root. */
export const IMAGE_FILTER_PREFIX = "/filter/";
/** The GD script's URL (bench/peers/gd-resize.php). */
export const GD_SCRIPT_URL = "/gd-resize.php";

export interface PeersPlan {
  /** The master of the cluster under test: its tuning is the peers' too. */
  master: Pick<MasterPlan, "tuning" | "ops" | "name">;
  /** The peers' own files (pid, temp dirs, logs). `imagesRoot` is the tree the resizers read. */
  paths: NginxPaths;
  /** Directory of the static file servers (the bytes of a cached HIT, as a file). */
  staticRoot: string;
  /** Absolute path of the GD script as php-fpm sees it. */
  gdScript: string;
  phpFpm: Listen;
  listen: { php: Listen; imageFilter: Listen; staticLogged: Listen; staticUnbuffered: Listen; staticUnlogged: Listen };
  /** Bytes image_filter may read into memory: at least the largest source. */
  imageFilterBufferBytes: number;
}

/** The `route` the static servers log, as the master's servers set one for every request. */
const STATIC_ROUTE = "static";

/**
 * The master's access logging, exactly: its JSON format (with the master's instance name),
 * its own log (buffered as the master's) and the same line as syslog to the cluster's ops
 * agent under the master's tag, so the agent does for each line what it does for the master's.
 */
function peersAccessLog(p: Pick<PeersPlan, "master" | "paths">, buffer = p.master.tuning.master.accessLogBuffer): Node[] {
  return accessLog({ accessLog: p.paths.accessLog, buffer, ops: p.master.ops, instance: p.master.name, role: "master" });
}

/** Just the `access_log` directives of a logging set-up, for a server of its own. */
const accessLogDirectives = (nodes: Node[]): Node[] => nodes.filter((n) => n.type === "directive" && n.name === "access_log");

/** nginx.conf of the peers. */
export function peersNginxConfig(p: PeersPlan): string {
  const server = (listen: Listen, comment: string, body: (Node | false)[]) =>
    why(comment, block("server", [], [d("listen", listenAddress(listen)), ...body]));
  return print(
    config([
      why("image_filter is a dynamic module in Debian's nginx.", d("load_module", IMAGE_FILTER_MODULE)),
      ...mainContext(p.paths, p.master.tuning.master),
      block("http", [], [
        ...httpCommon(p.paths, p.master.tuning, peersAccessLog(p)),
        server(p.listen.php, "The seeds' design: nginx passes *.php to php-fpm, which resizes with GD (no cache here:\nthe row measures resizing).", [
          routeLabel("gd"),
          block("location", ["=", GD_SCRIPT_URL], [
            d("fastcgi_pass", hostPort(p.phpFpm.address, p.phpFpm.port)),
            section(undefined, [
              d("fastcgi_param", "SCRIPT_FILENAME", p.gdScript),
              d("fastcgi_param", "QUERY_STRING", expr("$query_string")),
              d("fastcgi_param", "REQUEST_METHOD", expr("$request_method")),
              why("The tree the script resizes from: the same files the resizers read.", d("fastcgi_param", "IMAGES_ROOT", p.paths.imagesRoot)),
            ]),
          ]),
        ]),
        server(p.listen.imageFilter, "nginx's own resizer: `crop` scales to cover the box and cuts the overflow (fit=cover).", [
          routeLabel("image_filter"),
          block("location", ["^~", IMAGE_FILTER_PREFIX], [
            d("alias", `${p.paths.imagesRoot}/`),
            d("image_filter", "crop", expr("$arg_w"), expr("$arg_h")),
            d("image_filter_jpeg_quality", TARGET.q),
            why("The whole source is read into memory before decoding; the default 1M is too small for photos.", d("image_filter_buffer", `${Math.ceil(p.imageFilterBufferBytes / 1024 ** 2)}m`)),
          ]),
        ]),
        server(p.listen.staticLogged, "A plain file server with the master's access logging (same format, same file kind).", [
          routeLabel(STATIC_ROUTE),
          block("location", ["/"], [d("root", p.staticRoot)]),
        ]),
        server(p.listen.staticUnbuffered, "The same, logging each line at once (the master's format, no buffer): what buffering saves.", [
          routeLabel(STATIC_ROUTE),
          ...accessLogDirectives(peersAccessLog(p, "off")),
          block("location", ["/"], [d("root", p.staticRoot)]),
        ]),
        server(p.listen.staticUnlogged, "The same without access logging: the ceiling of serving these bytes.", [
          d("access_log", "off"),
          block("location", ["/"], [d("root", p.staticRoot)]),
        ]),
      ]),
    ]),
  );
}

export interface StaticPlan {
  /** The master whose logging the static server copies (format, buffer, ops agent). */
  master: Pick<MasterPlan, "tuning" | "ops" | "name">;
  paths: NginxPaths;
  staticRoot: string;
  listen: Listen;
}

/**
 * nginx.conf of a plain static file server with the master's main context and http
 * settings (the same access log, format and buffer): the container tier's comparison.
 */
export function staticNginxConfig(p: StaticPlan): string {
  return print(
    config([
      ...mainContext(p.paths, p.master.tuning.master),
      block("http", [], [
        ...httpCommon(p.paths, p.master.tuning, peersAccessLog(p)),
        why(
          "A plain file server logging as the master does.",
          block("server", [], [d("listen", listenAddress(p.listen)), routeLabel(STATIC_ROUTE), block("location", ["/"], [d("root", p.staticRoot)])]),
        ),
      ]),
    ]),
  );
}

export interface PhpFpmPlan {
  /** Directory for the pid and log files. */
  dir: string;
  listen: Listen;
  /** Worker processes; GD is single-threaded and CPU-bound, so one per core. */
  children: number;
  /** As root, php-fpm refuses to run a pool without a user. */
  user?: { name: string; group: string };
}

/** php-fpm.conf: one static pool (no spawning during a run), errors to the pool's log. */
export function phpFpmConfig(p: PhpFpmPlan): string {
  const lines = [
    "; Written by npm run bench: the php-fpm + GD peer.",
    "[global]",
    `pid = ${p.dir}/php-fpm.pid`,
    `error_log = ${p.dir}/php-fpm.log`,
    "daemonize = no",
    "",
    "[gd]",
    `listen = ${hostPort(p.listen.address, p.listen.port)}`,
    ...(p.user ? [`user = ${p.user.name}`, `group = ${p.user.group}`] : []),
    "pm = static",
    `pm.max_children = ${p.children}`,
    "catch_workers_output = yes",
    "; a 4000x3000 truecolor image is 48 MB in GD",
    "php_admin_value[memory_limit] = 256M",
    "",
  ];
  for (const l of lines) if (/[\r\0]/.test(l)) throw new Error("php-fpm config line with a control character");
  return lines.join("\n");
}
