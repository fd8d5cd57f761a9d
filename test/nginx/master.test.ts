// The master's rules, asserted on the rendered text as nginx reads it (test/helpers/
// nginx-conf.ts): the prod stack as reviewers see it (container target), plus small
// configs for what prod does not exercise. Each rule fails if its directives go.
import assert from "node:assert/strict";
import { MAX_HEADER_BYTES } from "../../resizer/src/settings.js";
import { ACCEPT_TABLE } from "../helpers/accept-table.js";
import { describe, it } from "node:test";
import { renderMaster, upstreamIdleTimeout } from "../../infra/nginx/master.js";
import { CONTAINER, NGINX_NAMES, planCluster } from "../../infra/topology.js";
import { hostPort } from "../../infra/address.js";
import { ACCESS_LOG_FIELDS } from "../../infra/nginx/observability.js";
import { ROUTES } from "../../resizer/src/routes.js";
import { timeMs } from "../../infra/units.js";
import { all, argsOf, deep, effective, mapValue, matchLocation, one, oneServing, parseConf, servingServers, type Stmt } from "../helpers/nginx-conf.js";
import { masterOf, plan } from "../helpers/specs.js";
import { stackSpec } from "../helpers/stage.js";

const prod = planCluster(stackSpec("Pulumi.prod.yaml"));
const host = prod.hosts[0]!;
const master = host.master;
const text = renderMaster(master);
const conf = parseConf(text);
const http = one(conf, "http");

function serverFor(h: Stmt, name: string): Stmt {
  const found = servingServers(h).filter((s) => one(s, "server_name").args.includes(name));
  assert.equal(found.length, 1, `one server for ${name}`);
  return found[0]!;
}
const main = serverFor(http, "image-origin.tving.com");
const stillshot = serverFor(http, "stillshot-origin.tving.com");
const servers = [main, stillshot];

/** The location nginx uses for `uri`, with a readable failure. */
function route(server: Stmt, uri: string): Stmt {
  const loc = matchLocation(server, uri);
  assert.ok(loc, `no location serves ${uri}`);
  return loc;
}

/** The directives in effect in a location (nearest scope that sets them). */
const inLoc = (server: Stmt, loc: Stmt, name: string) => effective([conf, http, server, loc], name);
const argsIn = (server: Stmt, loc: Stmt, name: string) => {
  const found = inLoc(server, loc, name);
  assert.equal(found.length, 1, `one ${name} in effect in location ${loc.args.join(" ")}, found ${found.length}`);
  return found[0]!.args;
};
/** What a location sets `$name` to (`set`, its own statement). */
const setIn = (loc: Stmt, name: string) => {
  const found = all(loc, "set").filter((st) => st.args[0] === name);
  assert.equal(found.length, 1, `one set ${name} in location ${loc.args.join(" ")}, found ${found.length}`);
  return found[0]!.args[1];
};

/** Request headers nginx sends upstream from this location (proxy_set_header is all-or-nothing inherited). */
function upstreamHeaders(server: Stmt, loc: Stmt): Map<string, string> {
  return new Map(inLoc(server, loc, "proxy_set_header").map((s) => [s.args[0]!, s.args[1]!]));
}

function upstreamBlock(name: string): Stmt {
  return one(http, "upstream", name);
}

/** Every directive name and argument, comments excluded. */
function allWords(stmts: Stmt[]): string[] {
  return stmts.flatMap((st) => [st.name, ...st.args, ...(st.block ? allWords(st.block) : [])]);
}

const PROXIED = ["/", "/healthz", "/resize", "/timthumb.php", "/images/a.jpg"];
const RESIZE = ["/resize", "/timthumb.php"];
/** Resize routes with a cache: the legacy URLs only redirect to /resize. */
const CACHED = ["/resize"];
/** An exact resize location passes its own path and the query as sent (never the decoded $uri). */
const resizerPass = (path: string) => `http://${NGINX_NAMES.resizersUpstream}${path}$is_args$args`;

describe("master upstreams: named once, referenced, with the slaves' real ports", () => {
  it("every proxy_pass names an upstream block that exists (the seeds' btv_image/tving_image mix-up)", () => {
    const passes = deep(http, "proxy_pass");
    assert.ok(passes.length >= 8);
    for (const p of passes) {
      const m = /^http:\/\/([A-Za-z0-9_]+)(?:\/[A-Za-z0-9._\/-]+\$is_args\$args)?$/.exec(p.args[0]!);
      assert.ok(m, `proxy_pass ${p.args[0]} names an upstream`);
      upstreamBlock(m[1]!);
    }
  });

  it("the slaves upstream lists exactly this host's slaves on the ports they listen on (8001/8002, not 8081/8082)", () => {
    const up = upstreamBlock(master.slaves.name);
    const servers = all(up, "server").map((s) => s.args[0]);
    assert.deepEqual(servers, master.slaves.members.map((m) => hostPort(m.host, m.port)));
    assert.deepEqual(master.slaves.members.map((m) => m.port), host.slaves.map((s) => s.listen.port), "each member's port is its slave's listen port");
    assert.deepEqual(host.slaves.map((s) => s.listen.port), [8001, 8002]);
  });

  it("static files, the health check and unknown paths go to the slaves; resizes to the resizers", () => {
    for (const s of servers) {
      for (const uri of ["/", "/healthz", "/images/a.jpg", "/index.html"]) {
        assert.deepEqual(route(s, uri).block && argsIn(s, route(s, uri), "proxy_pass"), [`http://${NGINX_NAMES.slavesUpstream}`], uri);
      }
      for (const uri of RESIZE) assert.deepEqual(argsIn(s, route(s, uri), "proxy_pass"), [resizerPass(uri)], uri);
    }
  });

  it("the resizer upstream hashes the resize cache key over every replica (consistent), with keepalive: one variant, one replica", () => {
    const up = upstreamBlock(master.resizers.name);
    const [key] = argsIn(main, route(main, "/resize"), "proxy_cache_key");
    assert.deepEqual(argsOf(up, "hash"), [key, "consistent"], "the very key the cache uses");
    for (const uri of RESIZE) assert.match(setIn(route(main, uri), key!)!, /^\$resize_variant\|/, `${uri} sets the key it hashes on`);
    assert.equal(all(up, "least_conn").length, 0);
    assert.deepEqual(all(up, "server").map((s) => s.args[0]), master.resizers.members.map((m) => hostPort(m.host, m.port)));
    assert.deepEqual(master.resizers.members.map((m) => m.port), host.resizers.map((r) => r.listen.port));
    assert.deepEqual(argsOf(up, "keepalive"), ["10"]);
  });

  it("resizer.balance least_conn: the least busy replica instead", () => {
    const c = masterOf(plan({ resizer: { balance: "least_conn" } }));
    const up = one(one(c, "http"), "upstream", NGINX_NAMES.resizersUpstream);
    assert.equal(all(up, "least_conn").length, 1);
    assert.equal(all(up, "hash").length, 0);
  });

  it("failure counts are shared by all workers (a zone per upstream), so max_fails means what it says", () => {
    for (const name of [master.slaves.name, master.resizers.name]) {
      assert.match(argsOf(upstreamBlock(name), "zone")!.join(" "), new RegExp(`^${name} \\d+k$`));
    }
  });

  it("idle upstream connections are dropped before the members' own keep-alive closes them", () => {
    const idle = (name: string) => argsOf(upstreamBlock(name), "keepalive_timeout")![0]!;
    assert.equal(idle(master.slaves.name), "4s", "slaves keep 5s (seed keepalive_timeout 5)");
    assert.equal(idle(master.resizers.name), "4s", "the resizer keeps 5s");
    // A shorter slave keep-alive shortens the master's side with it.
    const short = planCluster({ ...stackSpec("Pulumi.prod.yaml"), nginx: { ...stackSpec("Pulumi.prod.yaml").nginx, keepaliveTimeout: "2s" } }).hosts[0]!.master;
    assert.equal(argsOf(one(one(parseConf(renderMaster(short)), "http"), "upstream", short.slaves.name), "keepalive_timeout")![0], "1s");
    assert.equal(upstreamIdleTimeout(1500), "750ms");
  });

  it("members carry their configured parameters and the upstream its keepalive", () => {
    const up = upstreamBlock(master.slaves.name);
    for (const s of all(up, "server")) assert.deepEqual(s.args.slice(1), ["max_fails=2", "fail_timeout=10s"]);
    assert.deepEqual(argsOf(up, "keepalive"), ["10"]);
  });

  it("every balancing method and member parameter renders, method before keepalive", () => {
    const cases = [
      { balance: { method: "round_robin" as const }, expect: undefined },
      { balance: { method: "least_conn" as const }, expect: ["least_conn"] },
      { balance: { method: "ip_hash" as const }, expect: ["ip_hash"] },
      { balance: { method: "hash" as const, key: "$request_uri", consistent: true }, expect: ["hash", "$request_uri", "consistent"] },
      { balance: { method: "hash" as const, key: "$remote_addr$arg_src" }, expect: ["hash", "$remote_addr$arg_src"] },
      { balance: { method: "random" as const, two: true }, expect: ["random", "two"] },
      { balance: { method: "random" as const }, expect: ["random"] },
    ];
    for (const c of cases) {
      const backupOk = c.balance.method === "round_robin" || c.balance.method === "least_conn";
      const p = plan({
        upstream: { balance: c.balance, keepalive: 32 },
        slaves: [
          { port: 8001, weight: 3, maxConns: 100 },
          { port: 8002, maxFails: 0 },
          { port: 8003, down: true },
          ...(backupOk ? [{ port: 8004, backup: true }] : []),
        ],
      });
      const up = one(one(masterOf(p), "http"), "upstream", NGINX_NAMES.slavesUpstream);
      const body = (up.block ?? []).map((s) => s.name);
      const method = (up.block ?? []).find((s) => ["least_conn", "ip_hash", "hash", "random"].includes(s.name));
      assert.deepEqual(method && [method.name, ...method.args], c.expect, c.balance.method);
      if (method) assert.ok(body.indexOf(method.name) < body.indexOf("keepalive"), "method before keepalive");
      const members = all(up, "server").map((s) => s.args.join(" "));
      const addr = p.hosts[0]!.master.slaves.members.map((m) => hostPort(m.host, m.port));
      assert.deepEqual(members, [
        `${addr[0]} weight=3 max_conns=100`,
        `${addr[1]} max_fails=0`,
        `${addr[2]} down`,
        ...(backupOk ? [`${addr[3]} backup`] : []),
      ]);
      assert.deepEqual(p.hosts[0]!.master.slaves.members.map((m) => m.port), [8001, 8002, 8003, ...(backupOk ? [8004] : [])]);
      assert.deepEqual(argsOf(up, "keepalive"), ["32"]);
    }
  });
});

describe("master proxying: keepalive that works, retries that hide a dead member", () => {
  it("every proxied location speaks HTTP/1.1 upstream with an empty Connection header", () => {
    for (const s of servers) {
      for (const uri of PROXIED) {
        const loc = route(s, uri);
        assert.deepEqual(argsIn(s, loc, "proxy_http_version"), ["1.1"], uri);
        assert.equal(upstreamHeaders(s, loc).get("Connection"), "", uri);
      }
    }
  });

  it("a dead or failing slave is retried on the next one (error, timeout, 502-504); a resize only when its replica is unreachable; tries from config", () => {
    for (const s of servers) {
      for (const uri of PROXIED) {
        const loc = route(s, uri);
        const when = RESIZE.includes(uri) ? ["error"] : ["error", "timeout", "http_502", "http_503", "http_504"];
        assert.deepEqual(argsIn(s, loc, "proxy_next_upstream"), when, uri);
        assert.deepEqual(argsIn(s, loc, "proxy_next_upstream_tries"), [uri === "/healthz" ? "0" : "2"], uri);
      }
    }
    const custom = one(masterOf(plan({ nginx: { proxy: { nextUpstreamTries: 4 } } })), "http");
    assert.deepEqual(effective([custom], "proxy_next_upstream_tries")[0]!.args, ["4"]);
  });

  it("a saturated resizer's 503 + Retry-After reaches the client: never retried, so never counted as a failure", () => {
    for (const s of servers) {
      for (const uri of RESIZE) {
        const loc = route(s, uri);
        assert.ok(!argsIn(s, loc, "proxy_next_upstream").includes("http_503"), uri);
        const intercept = inLoc(s, loc, "proxy_intercept_errors");
        assert.ok(intercept.every((d) => d.args[0] === "off"), `${uri}: the resizer's own 503 body and Retry-After pass`);
      }
    }
  });

  it("every proxied location sends Host, X-Real-IP, X-Forwarded-For and X-Forwarded-Proto", () => {
    for (const s of servers) {
      for (const uri of PROXIED) {
        const h = upstreamHeaders(s, route(s, uri));
        assert.equal(h.get("Host"), "$host", uri);
        assert.equal(h.get("X-Real-IP"), "$remote_addr", uri);
        assert.equal(h.get("X-Forwarded-For"), "$proxy_add_x_forwarded_for", uri);
        assert.equal(h.get("X-Forwarded-Proto"), "$scheme", uri);
      }
    }
  });

  it("timeouts come from nginx.proxy: connect for all, read per upstream", () => {
    const p = plan({ nginx: { proxy: { connectTimeout: "2s", slaveReadTimeout: "7s", resizerReadTimeout: "30s" } } });
    const c = masterOf(p);
    const h = one(c, "http");
    const s = oneServing(h);
    const at = (uri: string, name: string) => effective([c, h, s, matchLocation(s, uri)!], name)[0]!.args;
    for (const uri of ["/", "/healthz", "/resize", "/timthumb.php"]) assert.deepEqual(at(uri, "proxy_connect_timeout"), ["2s"]);
    for (const uri of ["/", "/healthz"]) assert.deepEqual(at(uri, "proxy_read_timeout"), ["7s"]);
    for (const uri of ["/resize", "/timthumb.php"]) assert.deepEqual(at(uri, "proxy_read_timeout"), ["30s"]);
  });
});

describe("master /thumbnail/: straight from the images tree", () => {
  it("is served from the images root with expires 5s", () => {
    for (const s of servers) {
      const loc = route(s, "/thumbnail/2024/a.jpg");
      assert.deepEqual(loc.args, ["^~", "/thumbnail/"]);
      assert.deepEqual(argsOf(loc, "root"), [master.paths.imagesRoot]);
      assert.deepEqual(argsOf(loc, "expires"), ["5s"]);
      assert.equal(argsOf(loc, "proxy_pass"), undefined);
    }
  });

  it("a missing thumbnail answers 404 on image-origin", () => {
    assert.deepEqual(argsOf(route(main, "/thumbnail/x.jpg"), "try_files"), ["$uri", "=404"]);
  });

  it("a missing thumbnail on the stillshot domain answers 400", () => {
    assert.deepEqual(argsOf(route(stillshot, "/thumbnail/x.jpg"), "try_files"), ["$uri", "=400"]);
  });

  it("wins over the .php resize route and the slaves for anything under /thumbnail/", () => {
    assert.deepEqual(route(main, "/thumbnail/old.php").args, ["^~", "/thumbnail/"]);
  });

  it("takes its expiry from the config", () => {
    const s = oneServing(one(masterOf(plan({ nginx: { expires: { thumbnail: "30s" } } })), "http"));
    assert.deepEqual(argsOf(matchLocation(s, "/thumbnail/a.png")!, "expires"), ["30s"]);
  });
});

describe("master resize routes: cached, keyed correctly", () => {
  it("/resize and the configured legacy script paths are resize routes; no other *.php", () => {
    for (const s of servers) {
      assert.deepEqual(route(s, "/resize").args, ["=", "/resize"]);
      assert.deepEqual(route(s, "/timthumb.php").args, ["=", "/timthumb.php"]);
      assert.deepEqual(route(s, "/a/b/thumb.php").args, ["/"], "a random script name is a static path (404), not a resize");
      assert.deepEqual(route(s, "/resize/x").args, ["/"], "only /resize itself");
      assert.deepEqual(route(s, "/x.phps").args, ["/"]);
    }
  });

  it("proxy_cache_path has the configured levels, keys zone, inactive and max size", () => {
    const p = one(http, "proxy_cache_path");
    assert.equal(p.args[0], master.paths.cacheDir);
    for (const a of ["levels=1:2", `keys_zone=${NGINX_NAMES.cacheZone}:100m`, "inactive=60m", "max_size=300m"]) assert.ok(p.args.includes(a), a);
  });

  it("resize routes use the cache zone, with validity per configured status", () => {
    for (const s of servers) {
      for (const uri of CACHED) {
        const loc = route(s, uri);
        assert.deepEqual(argsIn(s, loc, "proxy_cache"), [NGINX_NAMES.cacheZone]);
        assert.deepEqual(inLoc(s, loc, "proxy_cache_valid").map((v) => v.args), [["200", "302", "1m"], ["404", "10s"]]);
      }
    }
  });

  it("static files from the slaves are not cached by the master", () => {
    for (const s of servers) for (const uri of ["/", "/healthz", "/a.jpg"]) assert.equal(inLoc(s, route(s, uri), "proxy_cache").length, 0, uri);
  });

  it("`any` validity goes last (nginx uses the first validity that matches)", () => {
    const c = masterOf(plan({ cache: { valid: [{ statuses: "any", time: "5s" }, { statuses: [200], time: "10m" }] } }));
    assert.deepEqual(deep(c, "proxy_cache_valid").map((v) => v.args), [["200", "10m"], ["any", "5s"]]);
  });

  it("concurrent misses of one variant wait on the lock only briefly: the replica the key hashes to shares the resize", () => {
    for (const s of servers) {
      for (const uri of CACHED) {
        const loc = route(s, uri);
        assert.deepEqual(argsIn(s, loc, "proxy_cache_lock"), ["on"]);
        assert.ok(timeMs(argsIn(s, loc, "proxy_cache_lock_timeout")[0]!) <= 10, "well under one resize (and nginx's 500 ms re-check)");
        assert.deepEqual(argsIn(s, loc, "proxy_cache_lock_age"), [master.tuning.proxy.resizerReadTimeout]);
      }
    }
    const byLoad = masterOf(plan({ resizer: { balance: "least_conn" }, nginx: { proxy: { resizerReadTimeout: "20s" } } }));
    const h = one(byLoad, "http");
    assert.deepEqual(deep(h, "proxy_cache_lock_timeout").map((d) => d.args), [["20s"]], "replicas chosen by load cannot share: the waiters wait for the one resize");
  });

  it("serves stale on errors and while updating, updates in the background, revalidates with ETag", () => {
    for (const s of servers) {
      for (const uri of RESIZE) {
        const loc = route(s, uri);
        assert.deepEqual(argsIn(s, loc, "proxy_cache_use_stale"), ["error", "timeout", "updating", "http_500", "http_502", "http_503", "http_504"]);
        assert.deepEqual(argsIn(s, loc, "proxy_cache_background_update"), ["on"]);
        assert.deepEqual(argsIn(s, loc, "proxy_cache_revalidate"), ["on"]);
      }
    }
  });

  it("a HIT opens no file (cache files stay open) and does not replay the filling request's X-Request-Id", () => {
    for (const s of servers) {
      for (const uri of CACHED) {
        const loc = route(s, uri);
        assert.deepEqual(argsIn(s, loc, "open_file_cache"), ["max=10000"], "within 40960 descriptors less two per connection (5120)");
        assert.deepEqual(inLoc(s, loc, "proxy_hide_header").map((h) => h.args), [["X-Resize-Engine"], ["X-Request-Id"]]);
      }
      for (const uri of ["/", "/thumbnail/a.jpg"]) assert.equal(inLoc(s, route(s, uri), "open_file_cache").length, 0, `${uri}: files of the images tree may be rewritten in place`);
    }
    const tight = masterOf(plan({ nginx: { master: { workerConnections: 1000, workerRlimitNofile: 2500 } } }));
    const kept = deep(tight, "open_file_cache").map((d) => d.args);
    assert.ok(kept.length > 0 && kept.every((a) => a.length === 1 && a[0] === "max=500"), `what the connections leave: ${JSON.stringify(kept)}`);
    const none = masterOf(plan({ nginx: { master: { workerConnections: 1000, workerRlimitNofile: 2000 } } }));
    assert.equal(deep(none, "open_file_cache").length, 0, "no room left: none");
  });

  it("tells clients whether the cache answered (X-Cache-Status, on every status), and when to retry after a 429", () => {
    for (const s of servers) {
      for (const uri of CACHED) {
        const headers = inLoc(s, route(s, uri), "add_header").map((h) => h.args);
        assert.deepEqual(headers, [["Retry-After", "$resize_retry_after", "always"], ["X-Cache-Status", "$upstream_cache_status", "always"]]);
      }
    }
  });

  it("the cache key holds the request URI and the variant, never cookies (the seeds' $cookie_user) or the raw Accept", () => {
    for (const s of servers) {
      for (const uri of CACHED) {
        const [keyVariable] = argsIn(s, route(s, uri), "proxy_cache_key");
        const key = setIn(route(s, uri), keyVariable!);
        assert.equal(key, `$resize_variant|${uri}$is_args$args`, "the URI the resizer receives: this path, the query as sent");
        assert.ok(key!.includes("$resize_variant"), key);
        assert.doesNotMatch(key!, /\$cookie|\$http_cookie|\$http_accept/);
      }
    }
    const words = allWords(conf);
    assert.ok(words.length > 100);
    assert.ok(!words.some((w) => /\$cookie_|\$http_cookie/.test(w)), "no directive anywhere reads a cookie");
  });

  it("the resizer gets the normalised Accept the key was computed from, and no cookies", () => {
    for (const s of servers) {
      for (const uri of RESIZE) {
        const h = upstreamHeaders(s, route(s, uri));
        assert.equal(h.get("Accept"), "$resize_accept");
        assert.equal(h.get("Cookie"), "");
        assert.equal(h.get("X-Request-Id"), "$request_id", "the resizer logs the master's request id");
      }
    }
  });

  it("the resizer's Vary, Cache-Control and Expires do not drive the cache (validity comes from the config)", () => {
    for (const s of servers) {
      for (const uri of CACHED) {
        const ignored = argsIn(s, route(s, uri), "proxy_ignore_headers");
        for (const h of ["Vary", "Cache-Control", "Expires"]) assert.ok(ignored.includes(h), h);
      }
    }
    const hidden = deep(http, "proxy_hide_header").map((h) => h.args);
    assert.ok(hidden.length > 0 && hidden.every((a) => a.length === 1 && (a[0] === "X-Resize-Engine" || a[0] === "X-Request-Id")), "they still reach clients; only the engine's versions (and a HIT's stale request id) do not");
    for (const s of servers) for (const uri of RESIZE) assert.ok(inLoc(s, route(s, uri), "proxy_hide_header").some((h) => h.args[0] === "X-Resize-Engine"), uri);
  });
});

describe("master format variants: Accept mapped to avif, webp or jpeg", () => {
  const map = (dst: string) => {
    const found = all(http, "map").filter((m) => m.args[1] === dst);
    assert.equal(found.length, 1, `one map defines ${dst}`);
    return found[0]!;
  };
  const acceptVariant = map("$resize_accept_variant");
  const accept = map("$resize_accept");
  const keyVariant = map("$resize_variant");

  it("reads the client's Accept the way the resizer negotiates fmt=auto (the shared table)", () => {
    assert.deepEqual(acceptVariant.args[0], "$http_accept");
    for (const [header, variant] of ACCEPT_TABLE) assert.equal(mapValue(acceptVariant, header ?? ""), variant, JSON.stringify(header));
  });

  it("sends the resizer one image type per variant, never the raw header", () => {
    assert.equal(accept.args[0], "$resize_accept_variant");
    assert.equal(mapValue(accept, "avif"), "image/avif");
    assert.equal(mapValue(accept, "webp"), "image/webp");
    assert.equal(mapValue(accept, "jpeg"), "image/jpeg");
  });

  it("keys on the variant only where the answer can depend on Accept: fmt=auto and presets", () => {
    assert.equal(keyVariant.args[0], "$args");
    const negotiates = ["src=a.jpg&fmt=auto&w=100", "fmt=auto", "src=a.jpg&p=thumb_320x180", "p=x", "src=a&f%6Dt=auto", "%70=thumb&src=a", "src=a&fmt=AVIF", "src=a&fmt="];
    const fixed = ["src=a.jpg&w=100", "src=a.jpg&fmt=jpeg", "fmt=jpg&src=a", "src=a&fmt=png&q=80", "fmt=webp", "fmt=avif", "src=dir%2Fa.jpg&fmt=png", "src=a.jpg&zc=1&w=100&h=50", "", "src=top=p=x"];
    for (const args of negotiates) assert.equal(mapValue(keyVariant, args), "$resize_accept_variant", args);
    for (const args of fixed) assert.equal(mapValue(keyVariant, args), "", args);
  });
});

describe("master small locations", () => {
  it("/favicon.ico answers 204 without logging", () => {
    for (const s of servers) {
      const loc = route(s, "/favicon.ico");
      assert.deepEqual(loc.args, ["=", "/favicon.ico"]);
      assert.deepEqual(argsOf(loc, "return"), ["204"]);
      assert.deepEqual(argsOf(loc, "access_log"), ["off"]);
      assert.deepEqual(argsOf(loc, "log_not_found"), ["off"]);
    }
  });

  it("/healthz asks the slaves upstream (200 while one slave serves), not the resizers, and is not logged", () => {
    for (const s of servers) {
      const loc = route(s, "/healthz");
      assert.deepEqual(loc.args, ["=", "/healthz"]);
      assert.deepEqual(argsOf(loc, "proxy_pass"), [`http://${NGINX_NAMES.slavesUpstream}`]);
      assert.deepEqual(argsOf(loc, "access_log"), ["off"]);
      assert.equal(inLoc(s, loc, "proxy_cache").length, 0);
      assert.deepEqual(argsIn(s, loc, "proxy_next_upstream_tries"), ["0"], "every slave is tried before the host reports failure");
    }
  });

  it("ACME http-01 challenges are served from the webroot", () => {
    for (const s of servers) {
      const loc = route(s, "/.well-known/acme-challenge/token123");
      assert.deepEqual(loc.args, ["^~", "/.well-known/acme-challenge/"]);
      assert.deepEqual(argsOf(loc, "root"), [master.paths.acmeWebroot]);
      assert.deepEqual(argsOf(loc, "try_files"), ["$uri", "=404"]);
    }
  });

  it("server errors get the master's own 50x page from its html directory", () => {
    for (const s of servers) {
      assert.deepEqual(argsOf(s, "error_page"), ["500", "502", "503", "504", "/50x.html"]);
      const loc = one(s, "location", "=", "/50x.html");
      assert.deepEqual(argsOf(loc, "root"), [master.paths.htmlDir]);
      assert.ok(all(loc, "internal").length === 1);
    }
  });
});

describe("master http settings from the seeds", () => {
  it("gzip compresses text types only, never images, and says so in Vary", () => {
    assert.deepEqual(argsOf(http, "gzip"), ["on"]);
    const types = argsOf(http, "gzip_types")!;
    assert.ok(types.includes("text/css") && types.includes("application/javascript"));
    assert.ok(types.every((t) => !t.startsWith("image/")), types.join(" "));
    assert.deepEqual(argsOf(http, "gzip_vary"), ["on"]);
    assert.deepEqual(argsOf(http, "gzip_min_length"), ["1k"]);
    assert.deepEqual(argsOf(http, "gzip_comp_level"), ["2"]);
  });

  it("charset UTF-8; no request bodies (a GET/HEAD service), headers up to what the resizers accept", () => {
    assert.deepEqual(argsOf(http, "charset"), ["UTF-8"]);
    assert.deepEqual(argsOf(http, "client_max_body_size"), ["1k"]);
    const [count, size] = argsOf(http, "large_client_header_buffers")!;
    assert.ok(Number(count) * Number(size!.replace("k", "")) * 1024 <= MAX_HEADER_BYTES - 4096, "the resizer takes every header nginx lets through, plus what the master adds");
  });

  it("logs one JSON object per request to its log and, as syslog, to the host's ops agent", () => {
    const fmt = one(http, "log_format", NGINX_NAMES.logFormat);
    assert.equal(fmt.args[1], "escape=json");
    const line = fmt.args.slice(2).join("");
    assert.deepEqual(Object.keys(JSON.parse(line.replace(/\$[a-z_]+/g, "0"))), ACCESS_LOG_FIELDS.map((f) => f.name));
    assert.match(line, /"request_id":"\$request_id"/, "the master's own id, the one it sends upstream");
    assert.deepEqual(
      all(http, "access_log").map((a) => a.args),
      [
        [master.paths.accessLog, NGINX_NAMES.logFormat, "buffer=64k", "flush=1s"],
        [`syslog:server=${hostPort(master.ops.syslog.address, master.ops.syslog.port)},tag=master,nohostname`, NGINX_NAMES.logFormat],
      ],
    );
    assert.deepEqual(master.ops.syslog, { address: host.ops.ip, port: host.ops.listen.port }, "the agent's own address and port");
    // Its own log in blocks (a write per 64 KB or per second, not per HIT); the agent's lines
    // go one datagram each, as it counts them.
    const unbuffered = masterOf(plan({ nginx: { master: { accessLogBuffer: "off" } } }));
    assert.deepEqual(deep(unbuffered, "access_log").find((a) => a.args[0] !== "off")!.args.slice(1), [NGINX_NAMES.logFormat]);
  });

  it("every location that logs names its route; the resizer's public routes by their own labels", () => {
    const route = (uri: string) => {
      const loc = matchLocation(main, uri)!;
      return (all(loc, "set", "$origin_route")[0] ?? one(main, "set", "$origin_route")).args[1];
    };
    assert.equal(route("/thumbnail/2024/01/1.jpg"), "thumbnail");
    assert.equal(route("/stillshot/a/b/1.jpg"), "static");
    assert.equal(route("/resize"), ROUTES.find((r) => r.handler === "resize" && !r.legacy)!.label);
    assert.equal(route("/timthumb.php"), ROUTES.find((r) => r.legacy)!.label);
    assert.equal(route("/.well-known/acme-challenge/x"), "acme");
    assert.equal(one(main, "set", "$origin_route").args[1], "other", "the server's default for a location that names none");
  });

  it("its stub_status listens apart from 80/443, for the ops agent's address alone", () => {
    const status = all(http, "server").filter((s) => deep(s, "stub_status").length > 0);
    assert.equal(status.length, 1);
    const s = status[0]!;
    assert.deepEqual(argsOf(s, "listen"), [hostPort(master.ops.status.address, master.ops.status.port)]);
    assert.ok(![master.http.port, master.https?.port].includes(master.ops.status.port));
    assert.deepEqual([argsOf(s, "allow"), argsOf(s, "deny"), argsOf(s, "access_log")], [[host.ops.ip], ["all"], ["off"]]);
    for (const served of servingServers(http)) assert.equal(deep(served, "stub_status").length, 0, "never on a public server");
  });

  it("regular expressions (the Accept and key maps, evaluated on every HIT) are compiled once, at load", () => {
    assert.deepEqual(argsOf(conf, "pcre_jit"), ["on"]);
  });

  it("worker and keepalive settings come from the config (and keepalive_requests is no longer 5)", () => {
    assert.deepEqual(argsOf(conf, "worker_processes"), ["auto"]);
    assert.deepEqual(argsOf(conf, "worker_rlimit_nofile"), ["40960"]);
    assert.deepEqual(argsOf(one(conf, "events"), "worker_connections"), ["5120"]);
    assert.deepEqual(argsOf(http, "keepalive_timeout"), ["5s", "5s"]);
    assert.deepEqual(argsOf(http, "keepalive_requests"), ["1000"]);

    const c = masterOf(
      plan({
        nginx: { master: { workerProcesses: 3, workerConnections: 700, workerRlimitNofile: 3000 }, keepaliveTimeout: "15s", keepaliveHeaderTimeout: "10s", keepaliveRequests: 77 },
      }),
    );
    const h = one(c, "http");
    assert.deepEqual(argsOf(c, "worker_processes"), ["3"]);
    assert.deepEqual(argsOf(c, "worker_rlimit_nofile"), ["3000"]);
    assert.deepEqual(argsOf(one(c, "events"), "worker_connections"), ["700"]);
    assert.deepEqual(argsOf(h, "keepalive_timeout"), ["15s", "10s"]);
    assert.deepEqual(argsOf(h, "keepalive_requests"), ["77"]);
  });

  it("per-host overrides reach that host's master only", () => {
    const p = plan({
      hosts: [
        { name: "h1", address: "10.0.0.1", docker: "unix:///var/run/docker.sock" },
        { name: "h2", address: "10.0.0.2", docker: "unix:///var/run/docker.sock", nginx: { master: { workerConnections: 999 } } },
      ],
    });
    assert.deepEqual(argsOf(one(masterOf(p, 0), "events"), "worker_connections"), ["5120"]);
    assert.deepEqual(argsOf(one(masterOf(p, 1), "events"), "worker_connections"), ["999"]);
  });
});

describe("master runs unprivileged", () => {
  it("has no `user` directive; pid and all five temp paths live in the plan's temp dir", () => {
    assert.equal(deep(conf, "user").length, 0);
    assert.deepEqual(argsOf(conf, "pid"), [master.paths.pid]);
    assert.ok(master.paths.pid.startsWith(`${master.paths.tempDir}/`));
    for (const kind of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
      assert.deepEqual(argsOf(http, `${kind}_temp_path`), [`${master.paths.tempDir}/${kind}`], kind);
    }
    assert.ok(master.writableDirs.includes(master.paths.tempDir));
    assert.ok(master.writableDirs.includes(master.paths.cacheDir));
  });

  it("listens on the container's high ports; the host publishes 80 and 443", () => {
    const ports = new Set(servingServers(http).flatMap((s) => deep(s, "listen").map((l) => l.args[0])));
    assert.deepEqual([...ports].sort(), [`0.0.0.0:${CONTAINER.masterHttpPort}`, `0.0.0.0:${CONTAINER.masterHttpsPort}`].sort());
    assert.deepEqual(master.publish, { http: 80, https: 443 });
  });

  it("logs to the container's stdout and stderr", () => {
    assert.deepEqual(argsOf(conf, "error_log"), ["/dev/stderr"]);
    assert.equal(all(http, "access_log")[0]!.args[0], "/dev/stdout");
  });
});

describe("master TLS", () => {
  it("each TLS domain listens on http and on https with ssl and http2", () => {
    for (const s of servers) {
      const listens = all(s, "listen").map((l) => l.args);
      assert.equal(listens.length, 2);
      assert.deepEqual(listens[0]!.slice(0, 1), [`0.0.0.0:${CONTAINER.masterHttpPort}`]);
      assert.deepEqual(listens[1]!.slice(0, 3), [`0.0.0.0:${CONTAINER.masterHttpsPort}`, "ssl", "http2"]);
    }
  });

  it("the default domain, and only it, is default_server on both ports", () => {
    for (const l of all(main, "listen")) assert.equal(l.args.at(-1), "default_server");
    for (const l of all(stillshot, "listen")) assert.ok(!l.args.includes("default_server"));
  });

  it("only TLS 1.2 and 1.3, forward-secret AEAD ciphers, no `ssl on`, a shared session cache", () => {
    assert.deepEqual(argsOf(http, "ssl_protocols"), ["TLSv1.2", "TLSv1.3"]);
    const ciphers = argsOf(http, "ssl_ciphers")![0]!.split(":");
    assert.ok(ciphers.length >= 4);
    for (const c of ciphers) assert.match(c, /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    assert.ok(!allWords(conf).some((w) => /SSLv|^TLSv1(\.1)?$|RC4|3DES|MD5|EXP/.test(w)), "no legacy protocol or cipher in any directive");
    assert.equal(deep(conf, "ssl").length, 0, "no `ssl on`");
    assert.deepEqual(argsOf(http, "ssl_prefer_server_ciphers"), ["off"]);
    assert.match(argsOf(http, "ssl_session_cache")![0]!, /^shared:[a-z_]+:\d+m$/);
    assert.deepEqual(argsOf(http, "ssl_session_tickets"), ["off"]);
  });

  it("each server uses the certificate and key files of its own certificate (SNI)", () => {
    for (const s of servers) {
      const planned = master.servers.find((p) => one(s, "server_name").args.includes(p.serverNames[0]!))!;
      assert.deepEqual(argsOf(s, "ssl_certificate"), [planned.tls!.certPath]);
      assert.deepEqual(argsOf(s, "ssl_certificate_key"), [planned.tls!.keyPath]);
    }
    const p = plan({
      domains: [
        { id: "dom-a", serverNames: ["a.example.com", "*.a.example.com"], certificate: "cert-a" },
        { id: "dom-b", serverNames: ["b.example.com"], certificate: "cert-b", default: true },
        { id: "plain", serverNames: ["plain.example.com"] },
      ],
      certificates: { "cert-a": { mode: "selfSigned" }, "cert-b": { mode: "acme", email: "ops@example.com" } },
    });
    const h = one(masterOf(p), "http");
    const a = serverFor(h, "a.example.com");
    const b = serverFor(h, "b.example.com");
    const plain = serverFor(h, "plain.example.com");
    assert.deepEqual(argsOf(a, "server_name"), ["a.example.com", "*.a.example.com"]);
    assert.deepEqual(argsOf(a, "ssl_certificate"), [`${CONTAINER.tlsDir}/cert-a.crt`]);
    // An acme certificate changes outside Pulumi: one bundle (key + chain) in the acme volume.
    assert.deepEqual(argsOf(b, "ssl_certificate"), [`${CONTAINER.acmeDir}/live/cert-b.pem`]);
    assert.deepEqual(argsOf(b, "ssl_certificate_key"), [`${CONTAINER.acmeDir}/live/cert-b.pem`]);
    assert.equal(argsOf(plain, "ssl_certificate"), undefined);
    assert.deepEqual(all(plain, "listen").map((l) => l.args), [[`0.0.0.0:${CONTAINER.masterHttpPort}`]], "no certificate, http only");
    assert.ok(all(b, "listen").every((l) => l.args.includes("default_server")), "the marked default");
  });

  it("without any certificate there is no https listener and no TLS settings", () => {
    const c = masterOf(plan());
    assert.equal(deep(c, "listen").filter((l) => l.args.includes("ssl")).length, 0);
    assert.equal(deep(c, "ssl_protocols").length, 0);
  });
});
