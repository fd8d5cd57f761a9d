// The peers' nginx of `npm run bench`, loaded and run by the real nginx: it must be the
// master's nginx in everything but what its locations do (same workers, same log format,
// same access log), image_filter must crop to the asked box like fit=cover, and the
// unlogged static server must really log nothing.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { GD_SCRIPT_URL, peersNginxConfig, phpFpmConfig, type PeersPlan } from "../../bench/lib/peers-config.js";
import { ACCESS_LOG_FLUSH } from "../../infra/nginx/common.js";
import { renderMaster } from "../../infra/nginx/master.js";
import { NGINX_NAMES, planCluster } from "../../infra/topology.js";
import { timeMs } from "../../infra/units.js";
import { quadrants } from "../helpers/images.js";
import { assertNginxAccepts, startNginx, type RunningNginx } from "../helpers/nginx.js";
import { all, argsOf, one, parseConf } from "../helpers/nginx-conf.js";
import { freePorts, handOver, stackSpec, tempRoot } from "../helpers/stage.js";

describe("the benchmark's peers (nginx)", () => {
  const root = tempRoot("bench-peers");
  const master = planCluster(stackSpec("Pulumi.local.yaml"), { kind: "local", root: join(root, "cluster") }).hosts[0]!.master;
  let plan: PeersPlan;
  let conf: string;
  let nginx: RunningNginx | undefined;
  const hit = Buffer.alloc(0);
  let hitBytes = hit;
  const url = (l: { address: string; port: number }, path: string) => `http://${l.address}:${l.port}${path}`;

  before(async () => {
    const [php, fpm, filter, logged, unbuffered, unlogged] = await freePorts(6);
    const at = (port: number | undefined) => ({ address: "127.0.0.1", port: port! });
    const dir = join(root, "peers");
    plan = {
      master,
      paths: {
        config: join(dir, "nginx.conf"),
        mimeTypes: master.paths.mimeTypes,
        pid: join(dir, "run", "nginx.pid"),
        tempDir: join(dir, "run"),
        accessLog: join(dir, "logs", "access.log"),
        errorLog: join(dir, "logs", "error.log"),
        htmlDir: join(dir, "html"),
        imagesRoot: join(root, "images"),
      },
      staticRoot: join(root, "static"),
      gdScript: join(dir, "gd-resize.php"),
      phpFpm: at(fpm),
      listen: { php: at(php), imageFilter: at(filter), staticLogged: at(logged), staticUnbuffered: at(unbuffered), staticUnlogged: at(unlogged) },
      imageFilterBufferBytes: 20 * 1024 ** 2,
    };
    for (const d of [join(dir, "run"), join(dir, "logs"), plan.staticRoot, plan.paths.imagesRoot]) mkdirSync(d, { recursive: true });
    hitBytes = await quadrants(320, 180).jpeg({ quality: 80 }).toBuffer();
    writeFileSync(join(plan.staticRoot, "hit.jpg"), hitBytes);
    await quadrants(400, 300).jpeg({ quality: 95 }).toFile(join(plan.paths.imagesRoot, "q.jpg"));
    conf = plan.paths.config;
    writeFileSync(conf, peersNginxConfig(plan));
    handOver(root);
  });

  after(async () => {
    await nginx?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("loads in nginx without a warning (image_filter from Debian's module)", async () => {
    await assertNginxAccepts(conf, join(root, "peers"), "peers nginx.conf");
  });

  it("one static server logs each line at once: the master's format without its buffer", () => {
    const http = one(parseConf(readFileSync(conf, "utf8")), "http");
    const syslog = `syslog:server=${master.ops.syslog.address}:${master.ops.syslog.port},tag=${master.ops.tag},nohostname`;
    assert.deepEqual(all(http, "access_log").map((a) => a.args), [
      [plan.paths.accessLog, NGINX_NAMES.logFormat, "buffer=64k", "flush=1s"],
      [syslog, NGINX_NAMES.logFormat],
    ]);
    const unbuffered = all(http, "server").find((srv) => argsOf(srv, "listen")![0] === `127.0.0.1:${plan.listen.staticUnbuffered.port}`)!;
    assert.deepEqual(all(unbuffered, "access_log").map((a) => a.args), [
      [plan.paths.accessLog, NGINX_NAMES.logFormat],
      [syslog, NGINX_NAMES.logFormat],
    ]);
  });

  it("has the master's log format, access log directive and workers: only the locations differ", () => {
    const peers = readFileSync(conf, "utf8");
    const mine = renderMaster(master);
    const logFormat = (text: string) => /log_format[\s\S]*?;/.exec(text)?.[0];
    assert.ok(logFormat(mine));
    assert.equal(logFormat(peers), logFormat(mine));
    // The first occurrence is the main or http level one (upstream blocks have their own keepalive_timeout).
    const first = (text: string, name: string) => text.split("\n").find((l) => l.trim().startsWith(`${name} `))?.trim().replace(/\S+\/access\.log/, "access.log");
    // Both access logs: the file, buffered, and the same line to the ops agent.
    const accessLogs = (text: string) => text.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("access_log ") && l !== "access_log off;").map((l) => l.replace(/\S+\/access\.log/, "access.log"));
    assert.equal(accessLogs(mine).filter((l) => l.includes("syslog:")).length, 1);
    assert.deepEqual(accessLogs(peers).slice(0, 2), accessLogs(mine).slice(0, 2));
    for (const name of ["access_log", "worker_processes", "worker_connections", "worker_rlimit_nofile", "sendfile", "tcp_nopush", "keepalive_timeout", "keepalive_requests"]) {
      assert.ok(first(mine, name), name);
      assert.equal(first(peers, name), first(mine, name), name);
    }
  });

  it("serves the cached bytes as a file: logged like the master on one server, not at all on the other", async () => {
    nginx = await startNginx(conf, join(root, "peers"), { host: "127.0.0.1", port: plan.listen.staticUnlogged.port });
    const logSize = () => statSync(plan.paths.accessLog).size;
    // Buffered like the master's: a line reaches the file within the flush interval.
    const flushed = () => new Promise((r) => setTimeout(r, timeMs(ACCESS_LOG_FLUSH) + 500));
    const loggedBody = Buffer.from(await (await fetch(url(plan.listen.staticLogged, "/hit.jpg"))).arrayBuffer());
    assert.ok(loggedBody.equals(hitBytes));
    await flushed();
    const afterLogged = logSize();
    const line = JSON.parse(readFileSync(plan.paths.accessLog, "utf8").trim().split("\n").at(-1)!) as Record<string, unknown>;
    assert.deepEqual([line.method, line.path, line.status, line.route, line.instance], ["GET", "/hit.jpg", 200, "static", master.name]);
    const unloggedBody = Buffer.from(await (await fetch(url(plan.listen.staticUnlogged, "/hit.jpg"))).arrayBuffer());
    assert.ok(unloggedBody.equals(hitBytes));
    await flushed();
    assert.equal(logSize(), afterLogged, "access_log off wrote a line");
  });

  it("image_filter crops to exactly the asked box, keeping the centre as fit=cover does", async () => {
    assert.ok(nginx, "started by the previous test");
    const res = await fetch(url(plan.listen.imageFilter, "/filter/q.jpg?w=160&h=90"));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "image/jpeg");
    const { data, info } = await sharp(Buffer.from(await res.arrayBuffer())).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [160, 90]);
    // 400x300 quadrants cut to 16:9: the colours stay in their corners (red top left, white bottom right).
    const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
    const near = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]!) < 40);
    assert.ok(near(px(10, 10), [255, 0, 0]), `top left ${px(10, 10)}`);
    assert.ok(near(px(150, 80), [255, 255, 255]), `bottom right ${px(150, 80)}`);
  });

  it("passes the GD script its file and the images root over FastCGI", () => {
    const text = readFileSync(conf, "utf8");
    assert.ok(text.includes(`location = ${GD_SCRIPT_URL} {`));
    assert.ok(text.includes(`fastcgi_pass 127.0.0.1:${plan.phpFpm.port};`));
    assert.ok(text.includes(`fastcgi_param SCRIPT_FILENAME ${plan.gdScript};`));
    assert.ok(text.includes(`fastcgi_param IMAGES_ROOT ${plan.paths.imagesRoot};`));
  });
});

describe("the benchmark's php-fpm pool", () => {
  it("a static pool of the given size in the foreground, unprivileged when a user is given", () => {
    const text = phpFpmConfig({ dir: "/w/php", listen: { address: "127.0.0.1", port: 9123 }, children: 2, user: { name: "nobody", group: "nogroup" } });
    for (const line of ["daemonize = no", "listen = 127.0.0.1:9123", "pm = static", "pm.max_children = 2", "user = nobody", "group = nogroup", "pid = /w/php/php-fpm.pid"]) {
      assert.ok(text.split("\n").includes(line), `missing "${line}"`);
    }
    assert.ok(!phpFpmConfig({ dir: "/w", listen: { address: "127.0.0.1", port: 1 }, children: 1 }).includes("user ="));
  });
});
