// Reading a process's CPU time and parent from /proc/<pid>/stat.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { cpuTicks, parentPid } from "../../bench/lib/procstat.js";

describe("/proc/<pid>/stat", () => {
  it("reads utime + stime and the parent, whatever the command's name holds", () => {
    const line = "4242 (nginx: worker (x) y) S 4241 4241 4241 0 -1 4194624 120 0 0 0 37 5 0 0 20 0 1 0 55 12345 678 18446744073709551615";
    assert.equal(parentPid(line), 4241);
    assert.equal(cpuTicks(line), 42);
  });

  it("agrees with this very process", () => {
    const stat = readFileSync("/proc/self/stat", "utf8");
    assert.equal(parentPid(stat), process.ppid);
    const ticks = cpuTicks(stat);
    const used = process.cpuUsage();
    // Clock ticks are 1/100 s on Linux; the process has used some CPU by now.
    assert.ok(Math.abs(ticks * 10_000 - (used.user + used.system)) < 200_000, `${ticks} ticks vs ${used.user + used.system} us`);
  });
});
