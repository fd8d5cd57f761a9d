// wrk as the benchmark drives it: the command line, and the result line of
// bench/wrk/paths.lua's done().
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseWrkOutput, WRK_MARKER, wrkArgs } from "../../bench/lib/wrk.js";

// What wrk 4.1 printed for a real run (its own summary, then the script's line).
const OUTPUT = `Running 1s test @ http://127.0.0.1:18777
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   189.10us  626.78us   8.89ms   97.63%
    Req/Sec    23.69k     3.21k   27.40k    77.27%
  51815 requests in 1.10s, 6.13MB read
Requests/sec:  47134.03
Transfer/sec:      5.57MB
${WRK_MARKER}{"requests":51815,"durationUs":1099312,"bytes":6425060,"errors":{"connect":0,"read":0,"write":0,"status":3,"timeout":2},"latencyUs":{"mean":189.1,"max":8886,"p50":74,"p90":194,"p99":3149}}
`;

describe("wrk's result", () => {
  it("req/s over the run's real duration, latencies in ms, every kind of failure counted", () => {
    const r = parseWrkOutput(OUTPUT);
    assert.equal(r.requests, 51815);
    assert.ok(Math.abs(r.rps - 47134.03) < 0.5, `rps ${r.rps}`);
    assert.equal(r.latencyMs.p50, 0.074);
    assert.equal(r.latencyMs.p99, 3.149);
    assert.equal(r.latencyMs.max, 8.886);
    assert.equal(r.errors, 5);
    assert.equal(r.errorDetail.status, 3);
  });

  it("a run whose script printed nothing fails with wrk's own output", () => {
    assert.throws(() => parseWrkOutput("unable to connect to 127.0.0.1:1 Connection refused\n"), /no result line[\s\S]*Connection refused/);
  });

  it("a result line of another shape is refused, naming the field", () => {
    assert.throws(() => parseWrkOutput(`${WRK_MARKER}{"requests":1}`), /unexpected shape.*durationUs/);
    assert.throws(() => parseWrkOutput(`${WRK_MARKER}{not json`), /not JSON/);
  });
});

describe("wrk's command line", () => {
  const base = { url: "http://127.0.0.1:8080", script: "/p/bench/wrk/paths.lua", pathsFile: "/tmp/paths.txt", threads: 2, connections: 8, seconds: 5, timeoutSeconds: 10 };

  it("the script gets the paths file and the thread count (each thread's stride)", () => {
    const args = wrkArgs({ ...base, headers: { Accept: "image/webp" } });
    assert.deepEqual(args.slice(0, 8), ["-t", "2", "-c", "8", "-d", "5s", "--timeout", "10s"]);
    assert.deepEqual(args.slice(args.indexOf("-H"), args.indexOf("-H") + 2), ["-H", "Accept: image/webp"]);
    assert.deepEqual(args.slice(-4), ["http://127.0.0.1:8080", "--", "/tmp/paths.txt", "2"]);
    assert.equal(args[args.indexOf("-s") + 1], "/p/bench/wrk/paths.lua");
  });

  it("durations wrk cannot take are refused before it runs", () => {
    assert.throws(() => wrkArgs({ ...base, seconds: 1.5 }), /whole seconds/);
    assert.throws(() => wrkArgs({ ...base, seconds: 0 }), /whole seconds/);
    assert.throws(() => wrkArgs({ ...base, threads: 4, connections: 2 }), /one connection per thread/);
  });
});
