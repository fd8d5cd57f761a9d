// `npm start` itself (the command `npm start` runs after its set-up): the seeds' start
// order, what it prints, Ctrl-C stopping the master first and leaving no process and no
// work directory; a busy port or a missing nginx is one clear line, exit 1, nothing
// started; `--stack prod` runs a production host on free loopback ports.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePorts } from "../../infra/local/ports.js";
import { childrenOf, groupMembers } from "../../infra/local/process.js";
import { findNginx } from "../../infra/local/tools.js";
import { writeSampleTree } from "../../scripts/sample-images.js";
import { sleep } from "../helpers/e2e.js";
import { pausedDownload, sha256 } from "../helpers/inflight.js";
import { PROJECT_ROOT } from "../helpers/stage.js";

/** Served by the master from its disk, and by the slaves through the master. */
const IN_FLIGHT = ["/thumbnail/2024/12/in-flight.jpg", "/stillshot/in-flight/E001/01.jpg"];
const BIG = randomBytes(32 * 1024 * 1024);

let dir: string;
let images: string;
let work: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "image-origin-e2e-start-"));
  chmodSync(dir, 0o755);
  images = join(dir, "images");
  await writeSampleTree(images, { thumbnails: 12, stills: 8 });
  // Large enough that a client which stops reading keeps the answer in flight (far more
  // than the loopback socket buffers hold).
  for (const path of IN_FLIGHT) {
    mkdirSync(dirname(join(images, path)), { recursive: true });
    writeFileSync(join(images, path), BIG);
  }
  // The command's own temp dir (TMPDIR): whatever it creates there is visible to the test.
  work = join(dir, "tmp");
  writeFileSync(join(dir, ".keep"), "");
  rmSync(work, { recursive: true, force: true });
  (await import("node:fs")).mkdirSync(work);
  chmodSync(work, 0o755);
});

const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

function start(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ["--import", "tsx", "infra/cli/start.ts", ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, TMPDIR: work, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(text, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!out.includes(text)) {
        if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}) before printing "${text}":\n${out}\n${err}`);
        if (Date.now() > deadline) throw new Error(`npm start did not print "${text}" within ${timeoutMs} ms:\n${out}\n${err}`);
        await sleep(50);
      }
    },
  };
}

const nginxPath = () => findNginx() ?? "/usr/sbin/nginx";

/** What the command left in its TMPDIR, apart from tsx's compile cache (any tsx run has one). */
const leftovers = () => readdirSync(work).filter((name) => !name.startsWith("tsx-"));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A process's title (nginx rewrites its own: "nginx: worker process is shutting down"). */
const processTitle = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
};

/** `started <name> (pid N) on ...` lines, in order. */
const startedLines = (out: string) => [...out.matchAll(/^started (\S+) \(pid (\d+)\)/gm)].map((m) => ({ name: m[1]!, pid: Number(m[2]) }));

/** GET through a printed URL: connect to loopback, Host from the URL (*.localhost needs no DNS). */
async function fetchVia(url: string): Promise<number> {
  const u = new URL(url);
  const { request } = await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: Number(u.port), path: u.pathname + u.search, headers: { host: u.hostname }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("npm start", () => {
  it("starts the ops agent, slaves and resizers before the master, prints what to try, and Ctrl-C stops the master first and leaves nothing behind", async (t) => {
    const run = start(["--free-ports", "--images", images]);
    await run.waitFor("Stop with Ctrl-C");
    const out = run.stdout();
    const started = startedLines(out);
    assert.deepEqual(
      started.map((s) => s.name),
      ["local-ops", "local-slave01", "local-slave02", "local-resizer01", "local-resizer02", "local-master"],
      "the ops agent first (nginx logs to it from its first request), then the seeds' order: slaves (and the resizers), the master last",
    );
    for (const label of ["index", "static", "thumbnail", "resize", "timthumb", "storyboard", "https", "healthz", "metrics"]) {
      assert.match(out, new RegExp(`^  ${label} `, "m"), `prints a ${label} line`);
    }
    const workDir = /work dir\s+(\S+)/.exec(out)![1]!;
    assert.ok(workDir.startsWith(work), workDir);

    // The printed URLs answer.
    const url = (label: string) => new RegExp(`^  ${label}\\s+(\\S+)`, "m").exec(out)![1]!;
    assert.equal(await fetchVia(url("thumbnail")), 200);
    assert.equal(await fetchVia(url("static")), 200);
    assert.equal(await fetchVia(url("resize")), 200);
    // The canonical track URL of the first episode (no redirect): the resizers' own defaults.
    assert.match(url("storyboard"), /\/storyboard\/docu-ocean\/E001\.vtt\?w=160&h=90&cols=10&rows=10&every=10$/);
    assert.equal(await fetchVia(url("storyboard")), 200);
    assert.equal(await fetchVia(url("healthz")), 200);

    // Requests in flight when Ctrl-C arrives: each client has its answer started and has
    // stopped reading, so nginx still holds the rest.
    const master = started.find((s) => s.name === "local-master")!;
    const httpPort = Number(new URL(url("healthz")).port);
    const inFlight = IN_FLIGHT.map((path) => pausedDownload("127.0.0.1", httpPort, path, "image-origin.localhost"));
    await Promise.all(inFlight.map((d) => d.started));

    // Ctrl-C: record when each process disappears.
    const gone = new Map<string, number>();
    const t0 = performance.now();
    run.child.kill("SIGINT");
    const watch = (async () => {
      while (gone.size < started.length && performance.now() - t0 < 30_000) {
        // One timestamp per pass: processes found gone in the same pass went in the same
        // interval, and the first in the list must not look as if it went earlier.
        const now = performance.now() - t0;
        for (const s of started) if (!gone.has(s.name) && !alive(s.pid)) gone.set(s.name, now);
        await sleep(2);
      }
    })();
    // The stop signal has reached the master: its workers shut down gracefully (or, had it
    // not been graceful, the master is gone). Only then do the clients read on.
    const deadline = performance.now() + 15_000;
    while (alive(master.pid) && !childrenOf(master.pid).some((w) => processTitle(w).includes("shutting down"))) {
      assert.ok(performance.now() < deadline, "the master never began to stop");
      await sleep(5);
    }
    for (const d of inFlight) d.resume();
    const answers = await Promise.all(inFlight.map((d) => d.done));
    await watch;
    assert.equal(await run.exited, 0, run.stderr());
    assert.match(run.stdout(), /stopped; .* removed/);
    const masterGone = gone.get("local-master")!;
    answers.forEach((a, i) => {
      assert.deepEqual(
        { status: a.status, bytes: a.bytes, sha256: a.sha256, error: a.error },
        { status: 200, bytes: BIG.length, sha256: sha256(BIG), error: undefined },
        `${IN_FLIGHT[i]}: in flight at Ctrl-C, it must complete with every byte`,
      );
    });
    for (const s of started.filter((s) => s.name !== "local-master")) {
      assert.ok(gone.get(s.name)! >= masterGone, `${s.name} stopped before the master`);
    }
    for (const s of started) {
      assert.ok(!alive(s.pid), `${s.name} (pid ${s.pid}) still runs`);
      assert.deepEqual(groupMembers(s.pid), [], `${s.name} left processes behind`);
    }
    assert.deepEqual(leftovers(), [], "the work directory is removed");
    t.diagnostic(
      `stop order (ms after SIGINT): ${[...gone].sort((a, b) => a[1] - b[1]).map(([n, ms]) => `${n} ${ms.toFixed(0)}`).join(", ")}; ` +
        `${answers.length} answers of ${BIG.length} bytes in flight at Ctrl-C completed at ${answers.map((a) => (a.endedAt - t0).toFixed(0)).join(", ")} ms`,
    );
  });

  it("a port already in use is one line naming it, exit 1, and nothing started", async () => {
    const [http, https, s1, s2, r1] = await freePorts(5);
    const conf = join(dir, "conf");
    (await import("node:fs")).mkdirSync(conf, { recursive: true });
    writeFileSync(
      join(conf, "Pulumi.local.yaml"),
      [
        "config:",
        "  image-origin:hosts: [{ name: local, address: 127.0.0.1, docker: unix:///var/run/docker.sock }]",
        "  image-origin:domains: [{ id: main, serverNames: [localhost], certificate: local }]",
        "  image-origin:certificates: { local: { mode: selfSigned } }",
        `  image-origin:master: { httpPort: ${http}, httpsPort: ${https} }`,
        `  image-origin:slaves: [{ port: ${s1} }, { port: ${s2} }]`,
        `  image-origin:resizer: { replicas: 1, basePort: ${r1} }`,
        "",
      ].join("\n"),
    );
    const holder = createServer().listen(https, "127.0.0.1");
    await new Promise((r) => holder.once("listening", r));
    try {
      const run = start(["--config-dir", conf, "--images", images]);
      assert.equal(await run.exited, 1);
      const lines = run.stderr().trim().split("\n");
      assert.equal(lines.length, 1, run.stderr());
      assert.match(lines[0]!, new RegExp(`^npm start: port ${https} \\(local-master https\\) is already in use on 127\\.0\\.0\\.1`));
      assert.doesNotMatch(run.stdout(), /started/);
      assert.deepEqual(leftovers(), [], "no work directory was left");
    } finally {
      holder.close();
    }
  });

  it("a missing nginx is one line naming the set-up command, exit 1, and nothing started", async () => {
    const run = start(["--free-ports", "--images", images], { NGINX_BIN: join(dir, "no-nginx-here") });
    assert.equal(await run.exited, 1);
    const lines = run.stderr().trim().split("\n");
    assert.equal(lines.length, 1, run.stderr());
    assert.match(lines[0]!, /^npm start: nginx not found .*bash scripts\/setup\.sh/);
    assert.doesNotMatch(run.stdout(), /started/);
    assert.deepEqual(leftovers(), []);
  });

  it("a process that dies during start-up stops what was started; exit 1 with its last lines", async () => {
    // An nginx that refuses to run the master's config only: slaves and resizers are up by then.
    const fake = join(dir, "nginx-but-not-the-master");
    writeFileSync(fake, `#!/bin/sh\ncase "$*" in *master*) echo "nginx: [emerg] simulated failure of the master" >&2; exit 1;; esac\nexec ${nginxPath()} "$@"\n`);
    chmodSync(fake, 0o755);
    const run = start(["--free-ports", "--images", images], { NGINX_BIN: fake });
    assert.equal(await run.exited, 1);
    const started = startedLines(run.stdout());
    assert.deepEqual(started.map((s) => s.name), ["local-ops", "local-slave01", "local-slave02", "local-resizer01", "local-resizer02"]);
    assert.match(run.stderr(), /^npm start: local-master exited during start-up \(exit code 1\)\n {2}nginx: \[emerg\] simulated failure of the master/m);
    for (const s of started) assert.ok(!alive(s.pid), `${s.name} (pid ${s.pid}) still runs`);
    assert.deepEqual(leftovers(), []);
  });

  it("--stack prod runs img01's plan on free loopback ports, with a stand-in for its supplied certificate", async () => {
    const run = start(["--stack", "prod", "--images", images]);
    try {
      await run.waitFor("Stop with Ctrl-C");
      const out = run.stdout();
      assert.match(out, /stack prod, host img01/);
      assert.match(out, /img01-master\s+pid \d+\s+http \d+ \(stack 80\), https \d+ \(stack 443\)/);
      assert.match(out, /note: certificate "star-tving" is supplied in stack prod: a local self-signed stand-in is used/);
      const httpPort = Number(/img01-master\s+pid \d+\s+http (\d+)/.exec(out)![1]);
      assert.notEqual(httpPort, 80);
      const status = await fetchVia(`http://image-origin.tving.com:${httpPort}/healthz`);
      assert.equal(status, 200);
    } finally {
      run.child.kill("SIGTERM");
      assert.equal(await run.exited, 0, run.stderr());
    }
    assert.deepEqual(leftovers(), []);
  });
});
