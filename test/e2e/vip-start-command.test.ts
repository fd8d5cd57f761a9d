// `npm start -- --stack <s> --all-hosts` itself: every host of the stack on its own loopback
// address, host by host (slaves and resizers, then the master), the VIP last; the memory and
// process counts printed; the printed URL answering through the VIP; Ctrl-C stopping the VIP
// first, then the masters, then the rest, leaving no process and no work directory. The
// stack is prod's, lighter (one resizer per host) and read from a directory of the test's.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse, stringify } from "yaml";
import { writeSampleTree } from "../../scripts/sample-images.js";
import { PROJECT_ROOT } from "../helpers/stage.js";

let dir: string;
let images: string;
let work: string;
let child: ChildProcess | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "image-origin-e2e-all-hosts-"));
  chmodSync(dir, 0o755);
  images = join(dir, "images");
  await writeSampleTree(images, { thumbnails: 12, stills: 8 });
  work = join(dir, "tmp");
  mkdirSync(work);
  chmodSync(work, 0o755);
  const prod = parse(readFileSync(join(PROJECT_ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, any> };
  prod.config["image-origin:resizer"] = { ...prod.config["image-origin:resizer"], replicas: 1 };
  writeFileSync(join(dir, "Pulumi.lab.yaml"), stringify(prod));
});

after(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** Running (not gone, not a zombie waiting to be reaped). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

describe("npm start -- --all-hosts", () => {
  test("five hosts host by host, the VIP last, counts printed, the printed URL answers through the VIP; Ctrl-C stops the VIP, then the masters, then the rest", async (t) => {
    child = spawn(process.execPath, ["--import", "tsx", "infra/cli/start.ts", "--stack", "lab", "--all-hosts", "--free-ports", "--config-dir", dir, "--images", images], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, TMPDIR: work },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    const deadline = Date.now() + 120_000;
    while (!out.includes("Stop with Ctrl-C")) {
      assert.ok(child.exitCode === null, `exited early:\n${out}\n${err}`);
      assert.ok(Date.now() < deadline, `no prompt within 120s:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    assert.match(out, /^starting 5 hosts x \(1 master, 2 slaves, 1 resizer, 1 ops agent\) \+ 1 HAProxy = 26 instances; machine memory [\d.]+ GiB$/m);
    const started = [...out.matchAll(/^started (\S+) \(pid (\d+)\)/gm)].map((m) => ({ name: m[1]!, pid: Number(m[2]) }));
    const expected = ["img01", "img02", "img03", "img04", "img05"].flatMap((h) => [`${h}-ops`, `${h}-slave01`, `${h}-slave02`, `${h}-resizer01`, `${h}-master`]);
    assert.deepEqual(started.map((s) => s.name), [...expected, "vip-haproxy"], "host by host, what the master proxies to first, the VIP last");
    for (let i = 1; i <= 5; i++) assert.match(out, new RegExp(`^  img0${i} +127\\.0\\.1\\.${i} +master \\d+ \\(stack 80\\), https \\d+ \\(stack 443\\)`, "m"));
    const counts = /^  processes (\d+) \(workers included\), resident memory ([\d.]+) GiB/m.exec(out);
    assert.ok(counts, out);
    t.diagnostic(counts[0]!.trim());
    assert.ok(Number(counts[1]) > started.length, "nginx workers counted too");

    // The printed thumbnail line, as a user would run it: through the VIP.
    const line = /^  thumbnail +(curl .*?)   \(master/m.exec(out)![1]!;
    const curl = spawnSync("sh", ["-c", line], { encoding: "utf8" });
    assert.equal(curl.stdout.trim(), "200 image/jpeg", `${line}\n${curl.stderr}`);
    assert.match(line, /--resolve image-origin\.tving\.com:\d+:127\.0\.0\.1 /);

    // Ctrl-C: watch when each process goes.
    const gone = new Map<string, number>();
    const watch = (async () => {
      while (gone.size < started.length) {
        // One time per pass: processes found gone in the same pass went in the same interval.
        const now = performance.now();
        for (const s of started) if (!gone.has(s.name) && !alive(s.pid)) gone.set(s.name, now);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    child.kill("SIGINT");
    assert.equal(await exited, 0, err);
    await watch;
    const at = (name: string) => gone.get(name)!;
    const masters = started.filter((s) => s.name.endsWith("-master")).map((s) => at(s.name));
    const rest = started.filter((s) => /-(slave|resizer)\d+$/.test(s.name)).map((s) => at(s.name));
    const order = [...gone].sort((a, b) => a[1] - b[1]).map(([n, ms]) => `${n} +${Math.round(ms - at("vip-haproxy"))}ms`);
    assert.ok(masters.every((m) => m >= at("vip-haproxy")), `the VIP stops first: ${order.join(", ")}`);
    assert.ok(rest.every((r) => r >= Math.max(...masters)), "then the masters, then slaves and resizers");
    assert.match(out, /stopping the VIP \(HAProxy\), then the masters \(SIGQUIT\), then slaves and resizers/);
    const root = /work dir +(\S+)/.exec(out)![1]!;
    assert.ok(!existsSync(root), "the work directory is removed");
  });
});
