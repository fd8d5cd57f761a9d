// bench/results/RESULTS.md and the chart's model from a run's results: the claims are the
// issue's targets checked with ratios taken round by round.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chartModel, claims, renderReport } from "../../bench/lib/report.js";
import { RUN_MODES } from "../../bench/lib/results.js";
import { fixture } from "../helpers/bench-results.js";

const claim = (name: RegExp) => {
  const c = claims(fixture()).find((x) => name.test(x.claim));
  assert.ok(c, `no claim matching ${name}`);
  return c;
};

describe("the claims of RESULTS.md", () => {
  it("master MISS vs raw sharp: the median of the per-round ratios, with their range", () => {
    const c = claim(/MISS vs raw sharp in-process, 1920/);
    assert.equal(c.measured, "0.90× (0.80×–0.95×)");
    assert.deepEqual([c.target, c.met], ["≥ 0.90×", true]);
  });

  it("a target missed is marked as such (4000×3000: 0.84×–0.89×)", () => {
    const c = claim(/MISS vs raw sharp in-process, 4000/);
    assert.equal(c.met, false);
    assert.match(c.measured, /^0\.87×/);
  });

  it("the MISS tail is each run's p99/p50, and it fails the ≤ 1.6 target when a run's tail is long", () => {
    assert.equal(claim(/p99\/p50 at 8 connections, 1920/).met, true); // 1.5, 1.49, 2.17 -> median 1.5
    assert.equal(claim(/p99\/p50 at 8 connections, 4000/).met, false); // 2.2, 2.05, 2.19
  });

  it("HIT vs a static nginx with the same access logging, not the unlogged one", () => {
    const c = claim(/cache HIT vs a plain nginx/);
    assert.match(c.measured, /^0\.80× \(0\.70×–0\.90×\)$/);
    assert.equal(c.met, true);
  });

  it("the lock stall: N identical requests against one alone, and one transform per variant", () => {
    assert.equal(claim(/^8 identical requests.*all answered/).met, false); // 16.5x
    assert.equal(claim(/^64 identical requests.*all answered/).met, true); // 1.1x
    assert.equal(claim(/^8 identical requests.*transforms/).met, true);
    const t64 = claim(/^64 identical requests.*transforms/);
    assert.equal(t64.met, false, "a trial with 2 transforms for one variant fails the claim");
  });

  it("a MISS target not met says what the same rounds measured about why: CPU per request against the limit's, the limit's own tail", () => {
    const tail4000 = claim(/p99\/p50 at 8 connections, 4000/);
    assert.equal(tail4000.met, false);
    assert.equal(tail4000.reason, "raw sharp, 4000×3000, with no HTTP, proxy or queue of ours, had p99/p50 1.20 (1.17–1.23) in the same rounds: the part of the tail this machine causes by itself.");
    assert.equal(claim(/MISS vs raw sharp in-process, 4000/).met, false);
    assert.equal(claim(/MISS vs raw sharp in-process, 4000/).reason, undefined, "no CPU measured in the fixture's 4000 rows: nothing invented");
    const f = fixture();
    for (const id of ["raw-4000", "master-miss-4000"]) for (const run of f.paths.find((p) => p.id === id)!.runs) run.cpuUs = id === "raw-4000" ? 30_000 : 36_000;
    assert.equal(
      claims(f).find((c) => /MISS vs raw sharp in-process, 4000/.test(c.claim))!.reason,
      "master, cache MISS, 4000×3000 used 36.00 ms of server CPU per request against 30.00 ms for raw sharp, 4000×3000 (1.20×): " +
        "what the path adds to the same work (HTTP, reading the file, the proxy), which a machine whose cores are all busy pays for in throughput; " +
        "for 0.90× it may add at most 3.33 ms, it added 6.00 ms.",
    );
    assert.equal(claim(/p99\/p50 at 8 connections, 1920/).reason, undefined, "a target met needs no reason");
  });

  it("a MISS reason splits the path's CPU by process, and the 1080 tail names the one-replica row when it was measured", () => {
    const f = fixture();
    const row = (id: string) => f.paths.find((p) => p.id === id)!;
    for (const run of row("raw-4000").runs) run.cpuUs = 30_000;
    for (const run of row("master-miss-4000").runs) Object.assign(run, { cpuUs: 36_000, cpuParts: { nginx: 400, resizerHttp: 1_600, transformWorkers: 34_000 } });
    assert.match(
      claims(f).find((c) => /MISS vs raw sharp in-process, 4000/.test(c.claim))!.reason!,
      /\(1\.20×\): .* Of that: nginx 400\.0 µs, the resizers' HTTP processes 1\.60 ms \(.*\), the transform workers 34\.00 ms /,
    );
    // 1920: the tail is met in the fixture; make it long, then add the one-replica row.
    for (const run of row("master-miss-1080").runs) run.p99 = run.p50 * 3;
    const tailReason = () => claims(f).find((c) => /p99\/p50 at 8 connections, 1920/.test(c.claim))!.reason!;
    assert.doesNotMatch(tailReason(), /single replica/, "not measured: not mentioned");
    const master = row("master-miss-1080");
    f.paths.push({ ...master, id: "master-miss-1080-one-replica", label: "master, cache MISS, one replica", runs: master.runs.map((x) => ({ ...x, p99: x.p50 * 1.5 })) });
    assert.match(tailReason(), /same slots in a single replica had p99\/p50 1\.50: the rest comes from placing each variant on its replica by key.*One replica per host would meet the target,/);
    // When the limit's own tail is above the target, one replica cannot meet it either: said so.
    for (const run of row("raw-1080").runs) run.p99 = run.p50 * 2;
    for (const run of row("master-miss-1080-one-replica").runs) run.p99 = run.p50 * 1.9;
    assert.match(tailReason(), /would take the tail to what this machine allows \(the target itself is not met by raw sharp/);
  });

  it("a stall target not met says what the same trials measured about why: the same requests cached, and what the miss added", () => {
    const f = fixture();
    const n64 = f.stalls.find((s) => s.balance === "variant" && s.concurrency === 64)!;
    n64.trials = [
      { allMs: 50, p50Ms: 40, transforms: 1, cacheStatuses: { MISS: 64 }, failures: 0, cachedAllMs: 30 },
      { allMs: 52, p50Ms: 41, transforms: 1, cacheStatuses: { MISS: 64 }, failures: 0, cachedAllMs: 32 },
    ];
    const c = claims(f).find((x) => /^64 identical requests.*all answered/.test(x.claim))!;
    assert.equal(c.met, false); // 51 ms against 31 ms alone: 1.65x
    assert.equal(
      c.reason,
      "the same 64 requests answered from the cache take 31 ms (1.00× one request alone, 31 ms): that is what answering 64 at once costs on this machine, " +
        "where the client shares the cores with nginx and the resizers, without any miss. The miss added 20 ms above it, 0.65× one request alone (within 1.2×).",
    );
    assert.match(renderReport(f), /Targets not met, and what this run measured about why:\n\n(- .*\n)*- \*\*64 identical requests for a new variant: all answered, vs one request alone\*\*: the same 64 requests/);
    // Without the cached repeat there is nothing to say: no invented reason.
    assert.equal(claim(/^8 identical requests.*all answered/).reason, undefined);
    assert.doesNotMatch(renderReport(fixture()), /- \*\*64 identical requests for a new variant: all answered/);
  });

  it("the lock stall is claimed for the design as configured only, not for the one shown for contrast", () => {
    const stallClaims = claims(fixture()).filter((c) => /identical requests/.test(c.claim));
    assert.equal(stallClaims.length, 4, "8 and 64, time and transforms, of the configured design");
    assert.equal(claim(/^8 identical requests.*all answered/).measured, "16.61× (16.45×–16.77×)", "against its own one-request time (31 ms), not the other design's");
  });

  it("a claim resting on a row with failed requests is not met, whatever its ratio (the container HIT row once measured 429s as throughput)", () => {
    const f = fixture();
    assert.equal(claims(f).find((c) => /cache HIT vs a plain nginx/.test(c.claim))!.met, true);
    f.paths.find((p) => p.id === "master-hit")!.runs[1]!.errors = 303_988;
    const hit = claims(f).find((c) => /cache HIT vs a plain nginx/.test(c.claim))!;
    assert.equal(hit.met, false);
    assert.match(hit.reason!, /^master, cache HIT had 303,988 failed requests .*not a measurement of the path/);
    f.paths.find((p) => p.id === "master-miss-1080")!.runs[0]!.errors = 2;
    assert.equal(claims(f).find((c) => /p99\/p50 at 8 connections, 1920/.test(c.claim))!.met, false, "a tail too");
  });

  it("the container tier's HIT claim is made only when its rows were measured", () => {
    assert.ok(!claims(fixture()).some((c) => /containers/.test(c.claim)));
  });

  it("a claim whose rows were not measured is left out rather than invented", () => {
    const f = fixture();
    f.paths = f.paths.filter((p) => !p.id.startsWith("master-miss-4000"));
    assert.ok(!claims(f).some((c) => /4000/.test(c.claim)));
  });
});

describe("RESULTS.md", () => {
  const md = renderReport(fixture());

  it("names the machine, the versions, the date and how the runs were interleaved", () => {
    assert.match(md, /2 × AMD EPYC, 24 GB/);
    assert.match(md, /node v20\.20\.2, sharp 0\.35\.5, libvips 8\.18\.7, nginx 1\.22\.1, PHP 8\.2\.36 \(php-fpm\), GD 2\.3\.3, wrk 4\.1\.0/);
    assert.match(md, /2026-12-01 14:29 UTC/);
    assert.match(md, /ran 3 times for 5 s, interleaved/);
    assert.match(md, /!\[throughput and latency per path\]\(chart\.svg\)/);
  });

  it("a quiet full run carries no warning; a quick or shared one says its figures are not claims", () => {
    assert.doesNotMatch(md, /Quick run|machine was shared/);
    const quick = renderReport(fixture({ settings: { ...fixture().settings, quick: true, rounds: 1, seconds: 1 } }));
    assert.match(quick, /\*\*Quick run\*\*.*not a measurement/);
    const busy = renderReport(fixture({ machine: { ...fixture().machine, loadStart: [4.2, 3, 2] } }));
    assert.match(busy, /\*\*The machine was shared\*\* \(load average 4\.20/);
    // The run's own load at the end (both cores busy for minutes) is not other work.
    const ownLoad = renderReport(fixture({ machine: { ...fixture().machine, loadStart: [0.4, 0.5, 0.6], loadEnd: [3.2, 2.9, 1.8] } }));
    assert.doesNotMatch(ownLoad, /machine was shared|SHARED MACHINE/);
  });

  it("a full-mode run cut short by --rounds/--seconds is named by its command and makes no claims", () => {
    const short = fixture({ settings: { ...fixture().settings, rounds: 1, seconds: 1, command: "npm run bench -- --rounds 1 --seconds 1" } });
    const out = renderReport(short);
    assert.match(out, /\*\*Reduced run\*\* \(`npm run bench -- --rounds 1 --seconds 1`: 1 round of 1 s per row; claims need at least 3 rounds of 5 s/);
    assert.match(out, /Written by `npm run bench -- --rounds 1 --seconds 1`/);
    assert.match(out, /\| yes \(noise\) \|/);
    assert.match(chartModel(short).subtitle, /REDUCED RUN/);
    // More than the minimum is a measurement like any other.
    assert.doesNotMatch(renderReport(fixture({ settings: { ...fixture().settings, rounds: 7, seconds: 10 } })), /Reduced run|\(noise\)/);
  });

  it("states how long the run took, the load at both ends and whether rows were warmed up", () => {
    const timed = renderReport(fixture({ machine: { ...fixture().machine, durationSeconds: 742 }, settings: { ...fixture().settings, warmupSeconds: 1 } }));
    assert.match(timed, /on 2026-12-01 14:29 UTC, in 12\.4 min\./);
    assert.match(timed, /load average \(1 \/ 5 \/ 15 min\) 0\.40 \/ 0\.50 \/ 0\.60 at the start, 1\.10 \/ 0\.70 \/ 0\.60 at the end/);
    assert.match(timed, /ran 3 times for 5 s after a 1 s warm-up, interleaved/);
    const cold = renderReport(fixture({ settings: { ...fixture().settings, quick: true, rounds: 1, seconds: 1, warmupSeconds: 0 } }));
    assert.match(cold, /ran once for 1 s, without warm-up, interleaved/);
  });

  it("tells how to run it with the harness's own run modes", () => {
    assert.ok(md.includes(`npm run bench             # every row, ${RUN_MODES.full.rounds} interleaved rounds of ${RUN_MODES.full.seconds} s (${RUN_MODES.full.takes} on 2 cores)`));
    assert.ok(md.includes(`a smoke test (${RUN_MODES.quick.takes})`));
  });

  it("one row per path with its comparison, and every MISS row's transform check", () => {
    const row = md.split("\n").find((l) => l.startsWith("| master, cache MISS |"));
    assert.ok(row);
    assert.match(row, /\| 8 \| 153 \(128–171\) \| 0\.90× raw sharp \|/);
    assert.match(row, /transforms\/requests 1\.01×/); // a few more transforms than requests: those in flight at the end
    assert.match(md, /\| php-fpm \+ GD <the seeds> \| 8 \| 68\.0 \(68\.0–69\.0\) \| 0\.40× raw sharp \|/);
    assert.match(md, /0\.80× static, same logging, 0\.64× static, access_log off/);
  });

  it("the stall table: all-answered time against one request alone and against the same requests cached, transforms and cache statuses", () => {
    assert.match(md, /a new size of `quality\/a\.jpg`/);
    assert.match(md, /\| by cache key \(as configured\) \| 8 \| 515 \(510–520\) \| 16\.6× \(16\.5×–16\.8×\) \| – \| 508 \| 1 \| HIT 14, MISS 2 \| 0 \|/);
    assert.match(md, /\| by cache key \(as configured\) \| 64 \| 35 \(34–36\) \| 1\.1× \(1\.1×–1\.2×\) \| 31 \(30–32\) \| 33 \| 2 \(1–2\) \| MISS 128 \| 1 \|/);
    assert.match(md, /\| least_conn \+ cache lock \(before\) \| 8 \| 505 \| 25\.3× \| – \| 503 \| 1 \| HIT 7, MISS 1 \| 0 \|/);
  });

  it("bytes at equal quality: per source and in total, an encoder that never reached GD's SSIM said so", () => {
    assert.match(md, /\| AVIF, resizer fmt=auto \| not reached \(q100\) \| 30\.0 KB \| 0\.9600 \| 3\.00× \|/);
    assert.match(md, /\| JPEG, resizer \| 24\.0 KB \| 0\.80× \| 2 of 2 \| 80 \| 26\.4 KB \| 0\.88× \| 2 of 2 \| 4\.0 ms \|/);
    assert.match(md, /\| AVIF, resizer fmt=auto \| 36\.0 KB \| 1\.20× \| 1 of 2 \| 50 \| 9\.5 KB \| 0\.32× \| 1 of 2 \| – \|/);
    assert.match(md, /q50: 3\.0 KB, SSIM 0\.9500 \(below GD\)/, "a default below GD's quality is pointed out");
  });

  it("what each HIT-path setting costs: throughput and CPU against the HIT as configured, not drawn in the chart", () => {
    assert.match(md, /\| master, cache HIT \(as configured\) \| 1× \| 20\.0 µs \| – \| 0\.80× \|/);
    assert.match(md, /\| master, cache HIT, no open_file_cache \| 0\.90× \| 23\.0 µs \| \+3\.0 µs \| 0\.72× \|/);
    assert.ok(!md.split("## Throughput and latency per path")[1]!.split("## What each setting")[0]!.includes("no open_file_cache"), "not in the main table");
  });

  it("what each row measures, in the row's own words", () => {
    assert.match(md, /- \*\*master, cache HIT\*\*: measures master, cache HIT/);
  });
});

describe("the chart's model", () => {
  const m = chartModel(fixture());

  it("one group per kind of work, bars in measuring order, the claim's ratio as the note", () => {
    assert.deepEqual(m.groups.map((g) => g.bars.length), [3, 2, 3]);
    assert.match(m.groups[0]!.title, /1920×1080.*8 connections/);
    const miss = m.groups[0]!.bars[1]!;
    assert.deepEqual([miss.kind, miss.rps, miss.rpsMin, miss.rpsMax, miss.p50, miss.p99, miss.note], ["ours", 153, 128, 171, 50, 75, "0.90× raw sharp"]);
    assert.equal(m.groups[0]!.bars[0]!.note, undefined, "the limit has nothing to be compared with");
  });

  it("the stall panel: one bar per N with its transforms, the target line at 1.2× one request", () => {
    assert.deepEqual(m.stall?.bars.map((b) => [b.label, b.ms, b.note]), [
      ["1 request alone", 31, "1 transform"],
      ["8 identical requests", 515, "1 transform"],
      ["64 identical requests", 35, "1–2 transforms"],
      ["1 request alone (least_conn + lock, before)", 20, "1 transform"],
      ["8 identical requests (least_conn + lock, before)", 505, "1 transform"],
    ]);
    assert.equal(m.stall?.marker?.ms, 31 * 1.2, "the target is the configured design's one request");
  });

  it("a quick or shared run says so in the subtitle", () => {
    assert.doesNotMatch(m.subtitle, /QUICK|SHARED/);
    assert.match(chartModel(fixture({ settings: { ...fixture().settings, quick: true } })).subtitle, /QUICK RUN/);
  });
});

describe("claims in a run that cannot make them", () => {
  it("a quick or shared run marks every verdict as noise", () => {
    const quick = renderReport(fixture({ settings: { ...fixture().settings, quick: true } }));
    assert.match(quick, /\| master cache MISS vs raw sharp in-process, 1920×1080 \| ≥ 0\.90× \| 0\.90× \(0\.80×–0\.95×\) \| yes \(noise\) \|/);
    assert.doesNotMatch(renderReport(fixture()), /\(noise\)/);
  });
});
