// The rendered prod configs running: img01's master and both slaves as real nginx
// processes on loopback (local target; no resizers), answering real HTTP and HTTPS
// requests the way operators know from the seeds.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { connect as tlsConnect } from "node:tls";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { HostPlan } from "../../infra/topology.js";
import type { RunningNginx } from "../helpers/nginx.js";
import { handOver, stackSpec, stageCluster, startStagedHost, tempRoot } from "../helpers/stage.js";

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

const root = tempRoot("behaviour");
let host: HostPlan;
let master: RunningNginx;
const slaves: RunningNginx[] = [];

function get(path: string, hostHeader = "image-origin.tving.com"): Promise<Reply> {
  const { address, port } = host.master.http;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: address, port, path, headers: { host: hostHeader }, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** TLS handshake with SNI `servername` within the given protocol bounds. */
function handshake(servername: string, minVersion: "TLSv1" | "TLSv1.2", maxVersion: "TLSv1.1" | "TLSv1.3"): Promise<{ protocol: string | null; alpn: string | false | null; subject: string }> {
  const { address, port } = host.master.https!;
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: address, port, servername, minVersion, maxVersion, rejectUnauthorized: false, ALPNProtocols: ["h2", "http/1.1"] }, () => {
      const cert = socket.getPeerCertificate();
      resolve({ protocol: socket.getProtocol(), alpn: socket.alpnProtocol, subject: String(cert.subject?.CN ?? "") });
      socket.end();
    });
    socket.on("error", reject);
  });
}

before(async () => {
  const staged = await stageCluster(stackSpec("Pulumi.prod.yaml"), root);
  host = staged.plan.hosts[0]!;
  const images = host.master.paths.imagesRoot;
  const files: Record<string, string> = {
    "thumbnail/2024/t.jpg": "thumb-bytes",
    "a.jpg": "jpeg-bytes",
    "app.js": "console.log(1)",
    "index.html": "<h1>index</h1>",
    "40x.html": "not here",
    "theme/micro/common/img/player/profile_thmb_default.gif": "default-profile",
    "upload/fe/profile/42.gif": "profile-42",
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(images, path, ".."), { recursive: true });
    writeFileSync(join(images, path), content);
  }
  handOver(root);
  const started = await startStagedHost(staged, host);
  slaves.push(...started.slaves);
  master = started.master;
});

after(async () => {
  await master?.stop();
  for (const s of slaves) await s.stop();
  rmSync(root, { recursive: true, force: true });
});

describe("img01 running its rendered configs", () => {
  it("thumbnails come from the master itself with a 5s expiry", async () => {
    const r = await get("/thumbnail/2024/t.jpg");
    assert.equal(r.status, 200);
    assert.equal(r.body, "thumb-bytes");
    assert.equal(r.headers["cache-control"], "max-age=5");
  });

  it("a missing thumbnail answers 404 on image-origin and 400 on the stillshot domain", async () => {
    assert.equal((await get("/thumbnail/none.jpg")).status, 404);
    assert.equal((await get("/thumbnail/none.jpg", "stillshot-origin.tving.com")).status, 400);
  });

  it("static files come from the slaves with their expiries; / is index.html", async () => {
    const img = await get("/a.jpg");
    assert.equal(img.body, "jpeg-bytes");
    assert.equal(img.headers["cache-control"], "max-age=10");
    const js = await get("/app.js");
    assert.equal(js.headers["cache-control"], "max-age=300");
    assert.equal((await get("/")).body, "<h1>index</h1>");
  });

  it("a missing profile picture gets the default one", async () => {
    assert.equal((await get("/upload/fe/profile/42.gif")).body, "profile-42");
    const r = await get("/upload/fe/profile/missing.gif");
    assert.equal(r.status, 200);
    assert.equal(r.body, "default-profile");
  });

  it("a missing file shows the slaves' 40x page with its 404 status", async () => {
    const r = await get("/nothing.png");
    assert.equal(r.status, 404);
    assert.equal(r.body, "not here");
  });

  it("/favicon.ico answers 204", async () => {
    assert.equal((await get("/favicon.ico")).status, 204);
  });

  it("a drained host fails its health check but keeps serving; undraining restores it", async () => {
    assert.equal((await get("/healthz")).status, 200);
    writeFileSync(host.master.paths.drainFile, "");
    try {
      assert.equal((await get("/healthz")).status, 503);
      assert.equal((await get("/healthz", "unknown.example")).status, 503, "the L4 asks without a known Host");
      assert.equal((await get("/a.jpg")).status, 200, "traffic still sent to the host is served");
    } finally {
      rmSync(host.master.paths.drainFile);
    }
    assert.equal((await get("/healthz")).status, 200);
  });

  it("a resize with no resizer running answers 502 with the master's 50x page", async () => {
    const r = await get("/resize?src=a.jpg&w=10");
    assert.equal(r.status, 502);
    assert.match(r.body, /Temporarily unavailable/);
  });

  it("HTTPS: TLS 1.3 with h2 and each domain's certificate by SNI; TLS 1.1 is refused", async () => {
    const ok = await handshake("stillshot-origin.tving.com", "TLSv1.2", "TLSv1.3");
    assert.equal(ok.protocol, "TLSv1.3");
    assert.equal(ok.alpn, "h2");
    await assert.rejects(handshake("image-origin.tving.com", "TLSv1", "TLSv1.1"));
  });

  it("killing slave01 loses no request; /healthz stays 200 until no slave is left", async () => {
    assert.equal((await get("/healthz")).status, 200);
    await slaves[0]!.stop();
    for (let i = 0; i < 6; i++) {
      assert.equal((await get("/a.jpg")).status, 200, `request ${i} after slave01 died`);
      assert.equal((await get("/healthz")).status, 200, `health check ${i} after slave01 died`);
    }
    await slaves[1]!.stop();
    assert.equal((await get("/healthz")).status, 502, "no slave left: the L4 takes the host out");
  });
});
