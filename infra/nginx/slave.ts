// A slave: the static /images tree of its host, as the seeds' nginx_slave01/02 served it,
// on the port the plan gives it. Pure: SlavePlan in, nginx.conf text out.
import { HEALTH, type SlavePlan } from "../topology.js";
import { timeSeconds } from "../units.js";
import { block, config, d, expr, regex, section, why, type Config, type Node } from "./ast.js";
import { header, httpCommon, listenAddress, mainContext, openFileBudget } from "./common.js";
import { accessLog, routeLabel, statusServer } from "./observability.js";
import { guardMaps, serverGuards } from "./guards.js";
import { print } from "./print.js";

/** Extensions that get the image expiry (the seeds' list plus webp and avif). */
export const IMAGE_EXTENSIONS = ["gif", "jpg", "jpeg", "png", "bmp", "webp", "avif"] as const;
/** Extensions that get the script expiry (the seeds' list). */
export const SCRIPT_EXTENSIONS = ["js", "css", "swf"] as const;

const extensionRegex = (exts: readonly string[]) => regex(`\\.(${exts.join("|")})$`);

/** The `route` a slave logs: it serves the static tree and nothing else. */
export const SLAVE_ROUTE = "static";

/** A replaced file is picked up within this time (or the image expiry, if shorter). */
const OPEN_FILE_CACHE_VALID_SECONDS = 10;

/**
 * open_file_cache sized within what the worker may open besides its connections; omitted
 * when the descriptor budget leaves no room.
 */
function openFileCache(slave: SlavePlan): Node | undefined {
  const budget = openFileBudget(slave.tuning.slave, 1);
  if (budget === undefined) return undefined;
  const valid = Math.max(1, Math.min(OPEN_FILE_CACHE_VALID_SECONDS, timeSeconds(slave.tuning.expires.image)));
  return section(
    "Descriptors and sizes of hot files stay open (within the descriptors the connections leave).\n" +
      "Missing files are not cached, so a new image is served at once; a replaced one within\n" +
      `${valid}s, no later than clients' copies expire.`,
    [
      d("open_file_cache", `max=${budget}`, "inactive=60s"),
      d("open_file_cache_valid", `${valid}s`),
      d("open_file_cache_min_uses", 1),
      d("open_file_cache_errors", "off"),
    ],
  );
}

export function slaveConfig(slave: SlavePlan): Config {
  const { tuning, paths } = slave;
  const fallback = tuning.profileFallback;
  return config([
    header(slave.name, `slave ${String(slave.index).padStart(2, "0")}`),
    ...mainContext(paths, tuning.slave),
    block("http", [], [
      ...httpCommon(paths, tuning, accessLog({ accessLog: paths.accessLog, buffer: tuning.slave.accessLogBuffer, ops: slave.ops, instance: slave.name, role: "slave" })),
      openFileCache(slave),
      ...guardMaps([]),
      block("server", [], [
        d("listen", listenAddress(slave.listen), "default_server"),
        routeLabel(SLAVE_ROUTE),
        d("root", paths.imagesRoot),
        serverGuards(),
        why("`/` serves /index.html of the images tree (the seeds' `if (-f /index.html)` looked at\nthe filesystem root instead).", d("index", "index.html")),
        section("Error pages from the images tree, as the seeds did.", [
          d("error_page", 400, 403, 404, "/40x.html"),
          d("error_page", 500, 502, 503, 504, "/50x.html"),
        ]),

        why(
          "The master's /healthz asks the slaves: 200 means this slave can serve.",
          block("location", ["=", HEALTH.path], [d("access_log", "off"), d("default_type", "text/plain"), d("return", 200, "ok")]),
        ),

        block("location", ["~*", extensionRegex(IMAGE_EXTENSIONS)], [d("expires", tuning.expires.image)]),

        why(
          "The seeds wrote `.*\\.(js|css|swf)?$`: the `?` made the extension optional, so any URI\nending in a dot matched too. Only the extensions here.",
          block("location", ["~*", extensionRegex(SCRIPT_EXTENSIONS)], [d("expires", tuning.expires.script)]),
        ),

        why(
          "A missing profile picture falls back to the default one (seed: /upload/fe/profile/).",
          block("location", ["^~", fallback.prefix], [d("expires", tuning.expires.image), d("try_files", expr("$uri"), fallback.image)]),
        ),
      ]),
      statusServer(slave.ops),
    ]),
  ]);
}

export function renderSlave(slave: SlavePlan): string {
  return print(slaveConfig(slave));
}
