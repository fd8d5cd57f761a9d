// The slaves' rules: everything the seeds' nginx_slave01/02 did, minus their bugs,
// asserted on the rendered text as nginx reads it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderSlave } from "../../infra/nginx/slave.js";
import { NGINX_NAMES, planCluster } from "../../infra/topology.js";
import { hostPort } from "../../infra/address.js";
import { all, argsOf, deep, mapValue, matchLocation, one, oneServing, parseConf, type Stmt } from "../helpers/nginx-conf.js";
import { plan, slaveOf } from "../helpers/specs.js";
import { stackSpec } from "../helpers/stage.js";

const prod = planCluster(stackSpec("Pulumi.prod.yaml"));
const host = prod.hosts[0]!;

const parsed = host.slaves.map((s) => {
  const conf = parseConf(renderSlave(s));
  const http = one(conf, "http");
  return { plan: s, conf, http, server: oneServing(http) };
});
const first = parsed[0]!;
const { server } = first;

function route(s: Stmt, uri: string): Stmt | undefined {
  return matchLocation(s, uri);
}

describe("slave listens where the master sends", () => {
  it("each slave listens on its own planned port (8001, 8002: the seeds' configs said 8081)", () => {
    assert.deepEqual(
      parsed.map((p) => argsOf(p.server, "listen")![0]),
      host.slaves.map((s) => `${s.listen.address}:${s.listen.port}`),
    );
    assert.deepEqual(host.slaves.map((s) => s.listen.port), [8001, 8002]);
  });

  it("the master's upstream members are exactly these listen addresses", () => {
    const masterMembers = host.master.slaves.members.map((m) => m.port);
    assert.deepEqual(masterMembers, host.slaves.map((s) => s.listen.port));
    assert.equal(host.master.slaves.name, NGINX_NAMES.slavesUpstream);
  });
});

describe("slave serves the images tree", () => {
  it("from the images root, with index.html at /", () => {
    assert.deepEqual(argsOf(server, "root"), [first.plan.paths.imagesRoot]);
    assert.deepEqual(argsOf(server, "index"), ["index.html"]);
    assert.equal(route(server, "/"), undefined, "/ is served by the server's root and index");
  });

  it("images expire after 10s: gif, jpg, jpeg, png, bmp (seeds) and webp, avif", () => {
    for (const uri of ["/a.gif", "/b/c.jpg", "/d.jpeg", "/e.png", "/f.bmp", "/g.webp", "/h.avif", "/UPPER.JPG"]) {
      const loc = route(server, uri);
      assert.ok(loc, uri);
      assert.deepEqual(argsOf(loc, "expires"), ["10s"], uri);
    }
  });

  it("js and css expire after 5m", () => {
    for (const uri of ["/app.js", "/site.css", "/old.swf"]) assert.deepEqual(argsOf(route(server, uri)!, "expires"), ["5m"], uri);
  });

  it("other files get no expiry (the seeds' `.*\\.(js|css|swf)?$` also matched any URI ending in a dot)", () => {
    for (const uri of ["/", "/index.html", "/data.json", "/dir/", "/40x.html", "/jsfile", "/a.jsx", "/trailing-dot.", "/a.b."]) {
      const loc = route(server, uri);
      assert.equal(loc && argsOf(loc, "expires"), undefined, uri);
    }
    assert.equal(deep(first.conf, "expires").filter((e) => e.args[0] === "5m").length, 1);
  });

  it("expiries come from the config", () => {
    const s = oneServing(one(slaveOf(plan({ nginx: { expires: { image: "1h", script: "2d" } } })), "http"));
    assert.deepEqual(argsOf(matchLocation(s, "/a.png")!, "expires"), ["1h"]);
    assert.deepEqual(argsOf(matchLocation(s, "/a.css")!, "expires"), ["2d"]);
  });
});

describe("slave profile pictures", () => {
  it("a missing /upload/fe/profile/ picture falls back to the default profile image", () => {
    const loc = route(server, "/upload/fe/profile/123.jpg")!;
    assert.deepEqual(loc.args, ["^~", "/upload/fe/profile/"]);
    assert.deepEqual(argsOf(loc, "try_files"), ["$uri", "/theme/micro/common/img/player/profile_thmb_default.gif"]);
    assert.deepEqual(argsOf(loc, "expires"), ["10s"]);
    assert.deepEqual(argsOf(route(server, "/theme/micro/common/img/player/profile_thmb_default.gif")!, "expires"), ["10s"], "the fallback is an image too");
  });

  it("prefix and image come from the config", () => {
    const s = oneServing(one(slaveOf(plan({ nginx: { profileFallback: { prefix: "/avatars/", image: "/static/nobody.png" } } })), "http"));
    assert.deepEqual(argsOf(matchLocation(s, "/avatars/9.png")!, "try_files"), ["$uri", "/static/nobody.png"]);
  });
});

describe("slave error pages and health", () => {
  it("400, 403 and 404 show /40x.html; 500, 502, 503 and 504 show /50x.html, from the images tree", () => {
    assert.deepEqual(all(server, "error_page").map((e) => e.args), [
      ["400", "403", "404", "/40x.html"],
      ["500", "502", "503", "504", "/50x.html"],
    ]);
    for (const page of ["/40x.html", "/50x.html"]) {
      const loc = route(server, page);
      assert.equal(loc && argsOf(loc, "root"), undefined, `${page} comes from the server root`);
    }
  });

  it("/healthz answers 200 without logging (the master's health check asks here)", () => {
    const loc = route(server, "/healthz")!;
    assert.deepEqual(loc.args, ["=", "/healthz"]);
    assert.deepEqual(argsOf(loc, "return"), ["200", "ok"]);
    assert.deepEqual(argsOf(loc, "access_log"), ["off"]);
  });
});

describe("slave http settings", () => {
  it("sendfile, tcp_nopush and an open file cache that never caches a missing file", () => {
    assert.deepEqual(argsOf(first.http, "sendfile"), ["on"]);
    assert.deepEqual(argsOf(first.http, "tcp_nopush"), ["on"]);
    const ofc = argsOf(first.http, "open_file_cache")!;
    assert.match(ofc[0]!, /^max=\d+$/);
    assert.deepEqual(argsOf(first.http, "open_file_cache_errors"), ["off"]);
  });

  it("a replaced file is picked up within 10s, or sooner when images expire sooner", () => {
    const valid = (image: string) => argsOf(one(slaveOf(plan({ nginx: { expires: { image } } })), "http"), "open_file_cache_valid");
    assert.deepEqual(valid("1h30m"), ["10s"]);
    assert.deepEqual(valid("5s"), ["5s"]);
    assert.deepEqual(valid("3"), ["3s"]);
    assert.deepEqual(valid("0"), ["1s"]);
  });

  it("the open file cache stays within the descriptors the connections leave", () => {
    const tight = one(slaveOf(plan({ nginx: { slave: { workerConnections: 2000, workerRlimitNofile: 2500 } } })), "http");
    assert.deepEqual(argsOf(tight, "open_file_cache")![0], "max=500");
    const none = one(slaveOf(plan({ nginx: { slave: { workerConnections: 2000, workerRlimitNofile: 2000 } } })), "http");
    assert.equal(argsOf(none, "open_file_cache"), undefined);
  });

  it("gzip for text, charset UTF-8, the JSON access log to its log and to the ops agent", () => {
    assert.deepEqual(argsOf(first.http, "gzip"), ["on"]);
    assert.ok(argsOf(first.http, "gzip_types")!.every((t) => !t.startsWith("image/")));
    assert.deepEqual(argsOf(first.http, "charset"), ["UTF-8"]);
    assert.deepEqual(
      all(first.http, "access_log").map((a) => a.args),
      [
        [first.plan.paths.accessLog, NGINX_NAMES.logFormat],
        [`syslog:server=${hostPort(first.plan.ops.syslog.address, first.plan.ops.syslog.port)},tag=slave01,nohostname`, NGINX_NAMES.logFormat],
      ],
    );
    const fmt = one(first.http, "log_format", NGINX_NAMES.logFormat);
    assert.match(fmt.args.slice(2).join(""), /"request_id":"\$origin_request_id"/, "the master's X-Request-Id when it sent one");
    assert.equal(mapValue(one(first.http, "map", "$http_x_request_id", "$origin_request_id"), "abc"), "$http_x_request_id");
    assert.equal(mapValue(one(first.http, "map", "$http_x_request_id", "$origin_request_id"), ""), "$request_id");
  });

  it("a private stub_status listener for the ops agent alone; every request it serves is `static`", () => {
    const status = all(first.http, "server").filter((s) => deep(s, "stub_status").length > 0);
    assert.equal(status.length, 1);
    assert.deepEqual(argsOf(status[0]!, "listen"), [hostPort(first.plan.ops.status.address, first.plan.ops.status.port)]);
    assert.deepEqual([argsOf(status[0]!, "allow"), argsOf(status[0]!, "deny")], [[first.plan.ops.agent], ["all"]]);
    assert.deepEqual(one(first.server, "set", "$origin_route").args, ["$origin_route", "static"]);
  });

  it("redirects are relative: the slave's port is not one clients can reach", () => {
    assert.deepEqual(argsOf(first.http, "absolute_redirect"), ["off"]);
  });

  it("worker settings come from the slave tuning", () => {
    assert.deepEqual(argsOf(first.conf, "worker_rlimit_nofile"), ["20480"]);
    assert.deepEqual(argsOf(one(first.conf, "events"), "worker_connections"), ["2560"]);
    const c = slaveOf(plan({ nginx: { slave: { workerProcesses: 2, workerConnections: 100, workerRlimitNofile: 1024 }, keepaliveRequests: 50 } }));
    assert.deepEqual(argsOf(c, "worker_processes"), ["2"]);
    assert.deepEqual(argsOf(c, "worker_rlimit_nofile"), ["1024"]);
    assert.deepEqual(argsOf(one(c, "events"), "worker_connections"), ["100"]);
    assert.deepEqual(argsOf(one(c, "http"), "keepalive_requests"), ["50"]);
  });
});

describe("slave runs unprivileged", () => {
  it("has no `user`; pid and all five temp paths in the plan's temp dir", () => {
    for (const p of parsed) {
      assert.equal(deep(p.conf, "user").length, 0);
      assert.deepEqual(argsOf(p.conf, "pid"), [p.plan.paths.pid]);
      for (const kind of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
        assert.deepEqual(argsOf(p.http, `${kind}_temp_path`), [`${p.plan.paths.tempDir}/${kind}`]);
      }
      assert.deepEqual(p.plan.writableDirs, [p.plan.paths.tempDir]);
    }
  });

  it("in the local target every file it writes is under the target's root", () => {
    const root = "/srv/test-root";
    const local = plan({}, { kind: "local", root, imagesDir: "/srv/images" });
    for (const s of local.hosts[0]!.slaves) {
      const c = parseConf(renderSlave(s));
      const h = one(c, "http");
      const written = [argsOf(c, "pid")![0]!, argsOf(c, "error_log")![0]!, all(h, "access_log")[0]!.args[0]!];
      for (const kind of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) written.push(argsOf(h, `${kind}_temp_path`)![0]!);
      for (const path of written) assert.ok(path.startsWith(`${root}/`), path);
      for (const dir of s.writableDirs) assert.ok(dir.startsWith(`${root}/`), dir);
    }
  });
});
