// img01's rendered prod configs (master and both slaves, real nginx on loopback) against
// what a hostile client tries: symlinks and dotfiles in the images tree, request bodies
// meant to fill the master's temp directory, slow readers of large files, floods of
// resizes from one address, methods the service does not serve, and a resize that outlives
// the master's read timeout. The resizer replicas are stand-ins that count what reaches them.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseClusterSpec } from "../../infra/config.js";
import type { HostPlan } from "../../infra/topology.js";
import type { RunningNginx } from "../helpers/nginx.js";
import { handOver, stackSpec, stageCluster, startStagedHost, tempRoot } from "../helpers/stage.js";

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const root = tempRoot("hostile");
let host: HostPlan;
let master: RunningNginx;
const slaves: RunningNginx[] = [];
const resizers: Server[] = [];
/** Requests that reached a stand-in resizer, by path and query. */
const reached: string[] = [];
const BIG_BYTES = 8 * 1024 * 1024;
const READ_TIMEOUT_S = 1;

function request(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string; port?: number } = {}): Promise<Reply> {
  const { address, port } = host.master.http;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: address, port: opts.port ?? port, path, method: opts.method ?? "GET", headers: { host: "image-origin.tving.com", ...opts.headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** A stand-in replica: counts requests; `hold=<ms>` delays the answer; names its engine. */
function standInResizer(address: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    reached.push(req.url ?? "");
    const hold = Number(new URL(req.url ?? "/", "http://x").searchParams.get("hold") ?? 0);
    setTimeout(() => {
      res.writeHead(200, { "Content-Type": "image/jpeg", "X-Resize-Engine": "sharp/0.35.5 libvips/8.18.0", "Cache-Control": "no-store" });
      res.end("jpeg");
    }, hold);
  });
  server.keepAliveTimeout = 5000;
  return new Promise((resolve) => server.listen(port, address, () => resolve(server)));
}

before(async () => {
  const spec = stackSpec("Pulumi.prod.yaml");
  spec.nginx.proxy.resizerReadTimeout = `${READ_TIMEOUT_S}s`;
  const staged = await stageCluster(parseClusterSpec(JSON.parse(JSON.stringify(spec))), root);
  host = staged.plan.hosts[0]!;
  const images = host.master.paths.imagesRoot;
  const files: Record<string, string | Buffer> = {
    "thumbnail/2024/t.jpg": "thumb-bytes",
    "thumbnail/.env": "SECRET=thumbnail-env",
    "thumbnail/x.jpg~": "thumbnail-backup",
    "a.jpg": "jpeg-bytes",
    ".env": "SECRET=env",
    ".htaccess": "Deny from all",
    ".git/config": "[remote] url = secret",
    "x.jpg~": "backup",
    "a.jpg.bak": "backup",
    "Photo.JPG.ORIG": "backup",
    "big.bin": Buffer.alloc(BIG_BYTES, 7),
    "40x.html": "not here",
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(images, path, ".."), { recursive: true });
    writeFileSync(join(images, path), content);
  }
  const key = host.master.servers.find((s) => s.tls)!.tls!.keyPath;
  symlinkSync("/etc/passwd", join(images, "thumbnail/passwd.jpg"));
  symlinkSync(key, join(images, "thumbnail/key.jpg"));
  symlinkSync(join(images, "thumbnail/2024/t.jpg"), join(images, "thumbnail/inside.jpg"));
  symlinkSync("/etc/passwd", join(images, "passwd.txt"));
  symlinkSync(key, join(images, "key.pem"));
  mkdirSync(join(host.master.paths.acmeWebroot, ".well-known/acme-challenge"), { recursive: true });
  writeFileSync(join(host.master.paths.acmeWebroot, ".well-known/acme-challenge/token-1"), "challenge-answer");
  handOver(root);
  for (const r of host.resizers) resizers.push(await standInResizer(r.listen.address, r.listen.port));
  const started = await startStagedHost(staged, host);
  slaves.push(...started.slaves);
  master = started.master;
});

after(async () => {
  await master?.stop();
  for (const s of slaves) await s.stop();
  for (const r of resizers) await new Promise((done) => r.close(done));
  rmSync(root, { recursive: true, force: true });
});

/**
 * Files under `dir` any process holds open, deleted or not: nginx unlinks its temp files as
 * it creates them, so only open descriptors show them.
 */
function openFilesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith(dir)) found.push(target);
      } catch {
        // closed meanwhile
      }
    }
  }
  return found;
}

const filesIn = (dir: string): string[] => {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
  } catch {
    return [];
  }
};

describe("the images tree: symlinks, hidden and backup files", () => {
  it("a symlink out of the tree (to /etc/passwd, to the master's TLS key) is never served, by the master or the slaves", async () => {
    for (const path of ["/thumbnail/passwd.jpg", "/thumbnail/key.jpg", "/passwd.txt", "/key.pem"]) {
      const r = await request(path);
      assert.notEqual(r.status, 200, path);
      assert.doesNotMatch(r.body.toString(), /root:|PRIVATE KEY/, path);
    }
  });

  it("symlinks inside the tree are not followed either (nginx cannot tell where a link leads by its owner)", async () => {
    assert.equal((await request("/thumbnail/2024/t.jpg")).status, 200);
    assert.notEqual((await request("/thumbnail/inside.jpg")).status, 200);
  });

  it("dotfiles, dot-directories and backup copies answer 404 everywhere, however the path is spelled", async () => {
    const paths = ["/.env", "/.htaccess", "/.git/config", "/x.jpg~", "/a.jpg.bak", "/Photo.JPG.ORIG", "/%2eenv", "/.git/../.env", "/thumbnail/.env", "/thumbnail/x.jpg~"];
    for (const path of paths) {
      const r = await request(path);
      assert.equal(r.status, 404, path);
      assert.doesNotMatch(r.body.toString(), /SECRET|secret|Deny|backup/, path);
    }
    const slave = host.slaves[0]!.listen;
    for (const path of ["/.env", "/x.jpg~", "/.git/config"]) assert.equal((await request(path, { port: slave.port })).status, 404, `slave01 ${path}`);
    assert.equal((await request("/a.jpg")).status, 200, "ordinary files still are");
  });

  it("the ACME http-01 webroot under /.well-known/ is still served", async () => {
    const r = await request("/.well-known/acme-challenge/token-1");
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), "challenge-answer");
  });
});

describe("the master's temp directory cannot be filled", () => {
  it("request bodies are refused at once (405 for other methods, 413 for a GET with one) and never spooled", async () => {
    const post = await request("/a.jpg", { method: "POST", body: "x".repeat(10_000), headers: { "content-type": "text/plain" } });
    assert.equal(post.status, 405);
    // 31 MB announced, 1 KB sent, then nothing: answered before the body, nothing on disk.
    const started = performance.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const { address, port } = host.master.http;
      const socket = connect(port, address, () => {
        socket.write(`GET /a.jpg HTTP/1.1\r\nHost: image-origin.tving.com\r\nContent-Length: 31000000\r\n\r\n${"x".repeat(1024)}`);
      });
      let text = "";
      socket.on("data", (c: Buffer) => {
        text += c.toString();
        if (text.includes("\r\n\r\n")) {
          resolve(text.split("\r\n")[0]!);
          socket.destroy();
        }
      });
      socket.on("error", reject);
      setTimeout(() => reject(new Error(`no answer within 5 s; client_body temp: ${filesIn(join(host.master.paths.tempDir, "client_body")).join(", ")}`)), 5000);
    });
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.ok(performance.now() - started < 3000);
    assert.deepEqual(openFilesUnder(join(host.master.paths.tempDir, "client_body")), []);
    const chunked = await request("/a.jpg", { headers: { "transfer-encoding": "chunked" }, body: "hello" });
    assert.equal(chunked.status, 413);
  });

  it("a slow reader of a large file gets every byte, and nothing is spooled to the temp directory meanwhile", async () => {
    const { address, port } = host.master.http;
    const received = await new Promise<{ bytes: number; contentLength: number; spooled: string[] }>((resolve, reject) => {
      const socket = connect(port, address, () => socket.write("GET /big.bin HTTP/1.1\r\nHost: image-origin.tving.com\r\nConnection: close\r\n\r\n"));
      socket.pause(); // a client that stops reading for a while
      let spooled: string[] = [];
      setTimeout(() => {
        spooled = openFilesUnder(join(host.master.paths.tempDir, "proxy"));
        socket.resume();
      }, 1500);
      const chunks: Buffer[] = [];
      socket.on("data", (c: Buffer) => chunks.push(c));
      socket.on("end", () => {
        const all = Buffer.concat(chunks);
        const head = all.subarray(0, all.indexOf("\r\n\r\n")).toString();
        resolve({ bytes: all.length - head.length - 4, contentLength: Number(/content-length: (\d+)/i.exec(head)?.[1]), spooled });
      });
      socket.on("error", reject);
    });
    assert.deepEqual(received.spooled, [], "the master held the file in its temp directory");
    assert.equal(received.contentLength, BIG_BYTES);
    assert.equal(received.bytes, BIG_BYTES, "the answer was cut short");
  });
});

describe("resize routes under abuse", () => {
  it("a resize that outlives the master's read timeout is answered 504 and not resent to another replica", async () => {
    reached.length = 0;
    const r = await request(`/resize?src=a.jpg&w=1&hold=${(READ_TIMEOUT_S + 2) * 1000}`);
    assert.equal(r.status, 504);
    assert.equal(reached.filter((u) => u.includes("hold=")).length, 1, `replicas reached: ${reached.join(", ")}`);
  });

  it("the resizer's engine versions stay private", async () => {
    const r = await request("/resize?src=a.jpg&w=2");
    assert.equal(r.status, 200);
    assert.equal(r.headers["x-resize-engine"], undefined);
  });

  it("a page of thumbnails from one client is served whole; a flood from one address gets 429 + Retry-After", async () => {
    const page = await Promise.all(Array.from({ length: 100 }, (_, i) => request(`/resize?src=a.jpg&w=${10 + i}&hold=300`)));
    assert.deepEqual([...new Set(page.map((r) => r.status))], [200], "100 thumbnails at once");
    const flood = await Promise.all(Array.from({ length: 300 }, (_, i) => request(`/resize?src=a.jpg&w=${200 + i}&hold=1500`)));
    const limited = flood.filter((r) => r.status === 429);
    assert.ok(limited.length >= 300 - 128, `${limited.length} of 300 answered 429`);
    assert.ok(limited.every((r) => r.headers["retry-after"] === "1"));
    assert.ok(flood.filter((r) => r.status === 200).length <= 128);
  });
});

describe("methods", () => {
  it("/healthz and every other path answer GET and HEAD only", async () => {
    const ok = await request("/healthz");
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.allow, undefined);
    assert.equal((await request("/healthz", { method: "HEAD" })).status, 200);
    for (const method of ["POST", "DELETE", "PUT", "OPTIONS"]) {
      const refused = await request("/healthz", { method });
      assert.equal(refused.status, 405, method);
      assert.equal(refused.headers.allow, "GET, HEAD");
      assert.equal((await request("/resize?src=a.jpg&w=3", { method })).status, 405, method);
    }
  });
});
