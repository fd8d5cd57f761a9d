// The service as a process, started like `npm run resizer`: configured by environment
// only, JSON logs on stdout, and SIGTERM = stop accepting, finish in-flight, exit 0.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { after, before, it } from "node:test";
import sharp from "sharp";
import { fixtureTree } from "../helpers/resizer.js";

const repo = path.resolve(__dirname, "../..");
let tree: Awaited<ReturnType<typeof fixtureTree>>;
before(async () => {
  tree = await fixtureTree();
  const width = 6000, height = 4000;
  const noise = Buffer.alloc(width * height);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  await sharp(noise, { raw: { width, height, channels: 1 } }).png({ compressionLevel: 1 }).toFile(path.join(tree.root, "slow.png"));
});
after(() => rm(tree.dir, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as { port: number };
  probe.close();
  return port;
}

interface Started {
  child: ChildProcess;
  base: string;
  lines: Record<string, unknown>[];
  waitFor(msg: string): Promise<void>;
}

/** Spawns `command` in its own process group with RESIZER_* env and waits for "listening". */
async function start(command: string[], env: Record<string, string> = {}): Promise<Started> {
  const port = await freePort();
  const child = spawn(command[0]!, command.slice(1), {
    cwd: repo,
    env: { ...process.env, RESIZER_ROOT: tree.root, RESIZER_PORT: String(port), RESIZER_HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: [string, () => void][] = [];
  let buffered = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.startsWith("{")) continue; // npm's own banner lines
      const entry = JSON.parse(line) as Record<string, unknown>;
      lines.push(entry);
      for (const [msg, resolve] of waiters) if (entry.msg === msg) resolve();
    }
  });
  const waitFor = (msg: string) =>
    lines.some((l) => l.msg === msg)
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          waiters.push([msg, resolve]);
          child.once("exit", (code) => reject(new Error(`resizer exited (${code}) before logging "${msg}"`)));
        });
  await waitFor("listening");
  return { child, base: `http://127.0.0.1:${port}`, lines, waitFor };
}

it("`npm run resizer` starts the service from the environment alone", async () => {
  const svc = await start(["npm", "run", "--silent", "resizer"], { RESIZER_PRESETS: '{"t":{"w":32}}' });
  try {
    const res = await fetch(`${svc.base}/resize?src=quadrants.jpg&p=t`);
    assert.equal(res.status, 200);
    assert.equal((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width, 32);
  } finally {
    process.kill(-svc.child.pid!, "SIGTERM"); // the whole group: npm, its shell, tsx, node
    await once(svc.child, "exit");
  }
});

it("refuses to start on an invalid environment, naming the variable", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "resizer/src/main.ts"], {
    cwd: repo,
    env: { ...process.env, RESIZER_ROOT: tree.root, RESIZER_CONCURRENCY: "zero" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, "exit")) as [number];
  assert.equal(code, 2);
  assert.match(stderr, /RESIZER_CONCURRENCY/);
});

it("SIGTERM: stops accepting, finishes the in-flight resize, exits 0", async () => {
  const svc: Started = await start([process.execPath, "--import", "tsx", "resizer/src/main.ts"]);
  const inFlight = fetch(`${svc.base}/resize?src=slow.png&w=1500&fmt=avif`, { headers: { "X-Request-Id": "in-flight" } });
  // Wait until the transform holds its slot, so the signal really lands mid-request.
  for (;;) {
    const metrics = await (await fetch(`${svc.base}/metrics`)).text();
    if (/^resizer_transforms_active 1$/m.test(metrics)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  // "close": exited AND stdout drained, so every log line has been read.
  const exited = once(svc.child, "close") as Promise<[number | null, string | null]>;
  svc.child.kill("SIGTERM");
  await svc.waitFor("shutting down: finishing in-flight requests");
  await assert.rejects(fetch(`${svc.base}/healthz`), "no new connections once draining");

  const res = await inFlight;
  assert.equal(res.status, 200);
  const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
  assert.deepEqual([meta.format, meta.width], ["heif", 1500]);
  assert.deepEqual(await exited, [0, null]);

  const logged = svc.lines.find((l) => l.id === "in-flight");
  assert.equal(logged?.status, 200);
  assert.equal(logged?.msg, "request");
  assert.ok(svc.lines.every((l) => JSON.stringify(l).length < 2000), "log lines stay short (no image bytes)");
  assert.ok(svc.lines.some((l) => l.msg === "stopped"));
});
