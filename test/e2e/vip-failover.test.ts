// The VIP address moving between the two L4 hosts: each L4 host's HAProxy and keepalived
// in a network namespace this test creates (with `ip netns` and veth pairs on a bridge in a
// client namespace; addresses exist only inside them), rendered from the same plan as the
// containers (unicast VRRP, keepalived tracking its HAProxy). A client in the client
// namespace requests a file through the VIP on a new connection each time, checking status
// and bytes. The active HAProxy is killed: keepalived gives the address up, the passive L4
// host takes it, and the downtime the client saw is measured; the killed HAProxy coming back
// does not take the address back (one move, not two).
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { makeRig, type Rig } from "../helpers/netns.js";
import { secondsUntil, secs, sleep, startVipE2E, vipTestSpec, type VipE2E } from "../helpers/vip.js";

let rig: Rig;
let e: VipE2E;
before(async () => {
  rig = makeRig(2);
  const [a, b] = rig.l4 as [Rig["l4"][number], Rig["l4"][number]];
  const l4 = (name: string, address: string) => ({ name, address, docker: "unix:///var/run/docker.sock", interface: "eth0" });
  // Two of prod's hosts are enough behind the VIP here: this is about the VIP itself.
  const spec = vipTestSpec((raw) => {
    raw.hosts = raw.hosts.slice(0, 2);
    raw.vip = { ...raw.vip, address: rig.vip, mode: "haproxy", haproxy: { hosts: [l4("lba", a.address), l4("lbb", b.address)], vrrp: { advertSeconds: 0.2 } } };
  });
  e = await startVipE2E("failover", spec, { namespaces: { lba: a.ns, lbb: b.ns } });
});
after(async () => {
  try {
    await e?.close();
  } finally {
    rig?.remove();
  }
});

interface Line {
  at: number;
  end: number;
  ok: boolean;
  error?: string;
}

/** The client in the client namespace; its lines as they come. */
function client(path: string): { lines: Line[]; stop(): Promise<void>; child: ChildProcess } {
  const body = readFileSync(join(e.fleet.imagesDir, path));
  const url = new URL(e.fleet.vip.urls.http);
  const args = { address: url.hostname, port: Number(url.port), host: e.name, path, sha256: createHash("sha256").update(body).digest("hex"), timeoutMs: 2_000 };
  const child = spawn("ip", ["netns", "exec", rig.client, process.execPath, "--import", "tsx", join(__dirname, "../helpers/vip-client.ts"), JSON.stringify(args)], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: join(__dirname, "../.."),
  });
  const lines: Line[] = [];
  let partial = "";
  child.stdout!.on("data", (d: Buffer) => {
    const parts = (partial + d.toString()).split("\n");
    partial = parts.pop() ?? "";
    for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as Line);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    lines,
    child,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

const okSince = (lines: Line[], t: number) => lines.filter((l) => l.ok && l.at >= t).length;

describe("the VIP address between two L4 hosts (HAProxy + keepalived in network namespaces)", () => {
  test("the active HAProxy killed: the address moves to the passive L4 host; the client's downtime measured; the killed one back does not take it again", async (t) => {
    const [a, b] = rig.l4 as [Rig["l4"][number], Rig["l4"][number]];
    const vrrp = e.fleet.vipPlan.haproxy!.vrrp;
    // The first L4 host (priority 200) wins the first election.
    await secondsUntil("lba holds the VIP", async () => rig.holder(rig.vip) === a.ns, 20_000);
    const c = client(e.tree.thumbnails[0]!);
    try {
      await secondsUntil("the client is served through lba", async () => okSince(c.lines, 0) >= 50, 20_000);
      const killedAt = performance.timeOrigin + performance.now();
      await e.fleet.vip.haproxy[0]!.kill("SIGKILL");
      const moved = await secondsUntil("the VIP moved to lbb", async () => rig.holder(rig.vip) === b.ns, 20_000, 20);
      await secondsUntil("the client is served through lbb", async () => okSince(c.lines, killedAt) >= 50, 20_000);

      const before = c.lines.filter((l) => l.at < killedAt);
      const lastOk = Math.max(...before.filter((l) => l.ok).map((l) => l.at));
      const firstOkAfter = Math.min(...c.lines.filter((l) => l.ok && l.at > killedAt).map((l) => l.at));
      const failed = c.lines.filter((l) => !l.ok);
      const downtime = (firstOkAfter - lastOk) / 1000;
      t.diagnostic(
        `failover: ${c.lines.length} requests so far, ${failed.length} failed while the address moved (the client tries again 10 ms after a failure: ${[...new Set(failed.map((f) => f.error))].join(", ")}); ` +
          `the VIP left lba and was on lbb ${secs(moved)}s after HAProxy was killed; the client's downtime ${secs(downtime)}s ` +
          `(keepalived checks its HAProxy every 1s, gives up after 2 failures; adverts every ${vrrp.advertSeconds}s)`,
      );
      assert.ok(failed.every((f) => f.end >= killedAt), "nothing failed before the kill (a request in flight then may)");
      // keepalived's check: up to 2 failures 1s apart (plus its 1s timeout), then the move.
      assert.ok(moved < 5, `the address moved after ${moved}s`);
      assert.ok(downtime < 5, `downtime ${downtime}s`);
      assert.equal(rig.holder(rig.vip), b.ns, "one holder");

      // lba's HAProxy back: its keepalived returns to BACKUP, and `nopreempt` leaves the VIP on lbb.
      await e.fleet.vip.haproxy[0]!.start();
      const backAt = performance.timeOrigin + performance.now();
      await sleep(4_000);
      assert.equal(rig.holder(rig.vip), b.ns, "the VIP stays on lbb");
      assert.ok(okSince(c.lines, backAt) > 20);
      assert.equal(c.lines.filter((l) => !l.ok && l.at >= backAt).length, 0, "no request failed when lba came back");
    } finally {
      await c.stop();
    }
  });
});
