// BenchResults -> bench/results/RESULTS.md and the chart's model. The claims are ratios
// taken round by round (both sides measured in the same round), checked against the
// targets of issue 15. Pure.
import type { ChartBar, ChartModel } from "./chart.js";
import { kb, num, table, times, withRange } from "./markdown.js";
import {
  BALANCE_CONTRAST,
  BALANCE_MEASURED,
  PATH,
  CLAIM_MINIMUM,
  RUN_MODES,
  p50Of,
  p99Of,
  pathById,
  ratioOf,
  rpsOf,
  stallRatio,
  tailOf,
  type BenchResults,
  type CpuParts,
  type Group,
  type PathResult,
  type QualityResult,
  type StallResult,
} from "./results.js";
import { median, spread, type Spread } from "./stats.js";

export const GROUP_TITLES: Record<Group, string> = {
  resize1080: "Resizing 1920×1080 → ~320×180 q80",
  resize4000: "Resizing 4000×3000 → ~320×180 q80",
  cached: "Serving the bytes of a cached resize",
  containers: "Serving the bytes of a cached resize, containers (logs through Docker)",
};

/** What a row is compared with, in the words of the claim. */
const VERSUS_WORDS: Record<string, string> = {
  [PATH.raw1080]: "raw sharp",
  [PATH.raw4000]: "raw sharp",
  [PATH.staticLogged]: "static, same logging",
  [PATH.staticUnlogged]: "static, access_log off",
  [PATH.hit]: "HIT as configured",
  // Short enough for the chart's ratio column; the row it points to says "same logging".
  [PATH.containerStatic]: "static container",
};

export interface Claim {
  claim: string;
  target: string;
  measured: string;
  /** undefined: not measured in this run. */
  met: boolean | undefined;
  /** For a target not met: what the run measured that explains it, when it measured that. */
  reason?: string;
}

const STALL_LIMIT = 1.2;

/** The issue's targets, each with what this run measured. */
export function claims(r: BenchResults): Claim[] {
  const has = (id: string) => r.paths.some((p) => p.id === id && p.runs.length > 0);
  const out: Claim[] = [];
  const ratio = (claim: string, id: string, versus: string, min: number) => {
    if (!has(id) || !has(versus)) return;
    const s = ratioOf(r, id, versus);
    const failed = failedReason(pathById(r, id), pathById(r, versus));
    const met = s.median >= min && failed === undefined;
    const reason = failed ?? (met ? undefined : cpuReason(pathById(r, id), pathById(r, versus), min));
    out.push({ claim, target: `≥ ${min.toFixed(2)}×`, measured: withRange(s, (n) => times(n)), met, ...(reason && { reason }) });
  };
  const tail = (claim: string, id: string, limit: string, max: number) => {
    if (!has(id)) return;
    const s = tailOf(pathById(r, id));
    const failed = failedReason(pathById(r, id));
    const met = s.median <= max && failed === undefined;
    const oneReplica = has(PATH.master1080OneReplica) && id === PATH.master1080 ? pathById(r, PATH.master1080OneReplica) : undefined;
    const reason = failed ?? (met || !has(limit) ? undefined : tailReason(pathById(r, limit), oneReplica, max));
    out.push({ claim, target: `≤ ${max.toFixed(1)}`, measured: withRange(s, (n) => n.toFixed(2)), met, ...(reason && { reason }) });
  };
  ratio("master cache MISS vs raw sharp in-process, 1920×1080", PATH.master1080, PATH.raw1080, 0.9);
  ratio("master cache MISS vs raw sharp in-process, 4000×3000", PATH.master4000, PATH.raw4000, 0.9);
  tail("master cache MISS p99/p50 at 8 connections, 1920×1080", PATH.master1080, PATH.raw1080, 1.6);
  tail("master cache MISS p99/p50 at 8 connections, 4000×3000", PATH.master4000, PATH.raw4000, 1.6);
  ratio("master cache HIT vs a plain nginx serving the bytes as a file, same access logging", PATH.hit, PATH.staticLogged, 0.8);
  ratio("the same in containers (logs through Docker's log driver)", PATH.containerHit, PATH.containerStatic, 0.8);
  for (const s of r.stalls) {
    if (s.concurrency === 1 || s.balance !== BALANCE_MEASURED) continue;
    const ratioS = stallRatio(r.stalls, s.concurrency);
    const met = ratioS.n > 0 ? ratioS.median <= STALL_LIMIT : undefined;
    const reason = met === false ? stallReason(r.stalls, s) : undefined;
    out.push({
      claim: `${s.concurrency} identical requests for a new variant: all answered, vs one request alone`,
      target: `≤ ${STALL_LIMIT.toFixed(1)}×`,
      measured: withRange(ratioS, (n) => times(n)),
      met,
      ...(reason && { reason }),
    });
    const t = spread(s.trials.map((x) => x.transforms));
    out.push({
      claim: `${s.concurrency} identical requests for a new variant: transforms done`,
      target: "1",
      measured: withRange(t, (n) => num(n)),
      met: t.n > 0 ? t.max <= 1 : undefined,
    });
  }
  return out;
}

/**
 * Rows with failed requests (socket errors, timeouts, answers other than 2xx/3xx) measure
 * something else than the path: a claim resting on them is not met, whatever its ratio.
 */
function failedReason(...rows: PathResult[]): string | undefined {
  const failing = rows.map((p) => ({ p, errors: p.runs.reduce((n, x) => n + x.errors, 0) })).filter((x) => x.errors > 0);
  if (failing.length === 0) return undefined;
  return `${failing.map((x) => `${x.p.label} had ${num(x.errors)} failed requests`).join(", ")} (socket errors, timeouts or answers other than 2xx/3xx): not a measurement of the path, whatever the ratio says.`;
}

/**
 * A throughput ratio not met: the CPU each side spent per request, when both were
 * measured, and how much the path may add to the limit's CPU for `min` on cores kept busy.
 */
function cpuReason(p: PathResult, versus: PathResult, min: number): string | undefined {
  const a = cpuOf(p);
  const b = cpuOf(versus);
  if (a === undefined || b === undefined) return undefined;
  const parts = cpuPartsOf(p);
  const split = parts
    ? ` Of that: nginx ${cpuText(parts.nginx)}, the resizers' HTTP processes ${cpuText(parts.resizerHttp)} (requests, the source's checks and opening, handing the job over and the answer back), the transform workers ${cpuText(parts.transformWorkers)} (the transform itself, as raw sharp does it, from the file).`
    : "";
  return (
    `${p.label} used ${cpuText(a)} of server CPU per request against ${cpuText(b)} for ${versus.label} (${times(a / b)}): ` +
    `what the path adds to the same work (HTTP, reading the file, the proxy), which a machine whose cores are all busy pays for in throughput; ` +
    `for ${times(min)} it may add at most ${cpuText(b * (1 / min - 1))}, it added ${cpuText(a - b)}.${split}`
  );
}

/** Median per-process CPU split of a row's runs, when measured. */
function cpuPartsOf(p: PathResult): CpuParts | undefined {
  const runs = p.runs.flatMap((x) => (x.cpuParts ? [x.cpuParts] : []));
  if (runs.length === 0) return undefined;
  return { nginx: median(runs.map((x) => x.nginx)), resizerHttp: median(runs.map((x) => x.resizerHttp)), transformWorkers: median(runs.map((x) => x.transformWorkers)) };
}

/**
 * A latency tail not met: the tail of the in-process limit over the same rounds, with no
 * HTTP or queue of ours; and, when measured, the same MISS rows with every slot in one
 * replica (no placement by key).
 */
function tailReason(limit: PathResult, oneReplica: PathResult | undefined, max: number): string {
  const own = `${limit.label}, with no HTTP, proxy or queue of ours, had p99/p50 ${withRange(tailOf(limit), (n) => n.toFixed(2))} in the same rounds: the part of the tail this machine causes by itself.`;
  if (oneReplica === undefined) return own;
  const single = tailOf(oneReplica).median;
  const verdict =
    single <= max
      ? `One replica per host would meet the target`
      : `One replica per host would take the tail to what this machine allows (the target itself is not met by ${limit.label} here)`;
  return (
    `${own} The same MISS load with the same slots in a single replica had p99/p50 ${withRange(tailOf(oneReplica), (n) => n.toFixed(2))}: ` +
    `the rest comes from placing each variant on its replica by key. Distinct sizes land on the replicas at random, and the kernel shares the CPU between replicas ` +
    `(each is a container's cgroup in prod, a session's autogroup here), not between transforms, so while one replica holds more of the transforms in flight each of them runs slower. ` +
    `${verdict}, at the price of what several replicas give (a crash or a replacement touching only part of a host's resizes).`
  );
}

/**
 * Why N identical requests took longer than the target, from the same trials: how long the
 * same N take once cached (answering N at once at all, on this machine), and what the miss
 * added above that. Undefined without the cached repeat.
 */
function stallReason(stalls: readonly StallResult[], s: StallResult): string | undefined {
  const one = stalls.find((x) => x.concurrency === 1 && x.balance === s.balance);
  const floors = s.trials.flatMap((t) => (t.cachedAllMs === undefined ? [] : [t.cachedAllMs]));
  if (!one || floors.length === 0) return undefined;
  const oneMs = median(one.trials.map((t) => t.allMs));
  const floor = median(floors);
  const all = median(s.trials.map((t) => t.allMs));
  return (
    `the same ${s.concurrency} requests answered from the cache take ${num(floor, 0)} ms (${times(floor / oneMs)} one request alone, ${num(oneMs, 0)} ms): ` +
    `that is what answering ${s.concurrency} at once costs on this machine, where the client shares the cores with nginx and the resizers, without any miss. ` +
    `The miss added ${num(all - floor, 0)} ms above it, ${times((all - floor) / oneMs)} one request alone${(all - floor) / oneMs <= STALL_LIMIT ? ` (within ${STALL_LIMIT}×)` : ""}.`
  );
}

/** Median CPU µs per request of a row's runs, when measured. */
const cpuOf = (p: PathResult): number | undefined => {
  const xs = p.runs.map((x) => x.cpuUs).filter((x): x is number => x !== undefined && Number.isFinite(x));
  return xs.length ? median(xs) : undefined;
};
const cpuText = (us: number | undefined): string => (us === undefined ? "–" : us >= 1000 ? `${num(us / 1000, 2)} ms` : `${num(us, 1)} µs`);

function pathRows(r: BenchResults, paths: readonly PathResult[]): string[][] {
  return paths.map((p) => {
    const rps = rpsOf(p);
    const vs = p.versus.map((v) => `${times(ratioOf(r, p.id, v).median)} ${VERSUS_WORDS[v] ?? v}`).join(", ");
    const errors = p.runs.reduce((n, x) => n + x.errors, 0);
    const misses = p.runs.every((x) => x.transforms !== undefined)
      ? ` (transforms/requests ${times(p.runs.reduce((n, x) => n + x.transforms!, 0) / Math.max(1, p.runs.reduce((n, x) => n + x.requests, 0)))})`
      : "";
    return [
      p.label,
      String(p.connections),
      withRange(rps),
      vs || "–",
      num(p50Of(p), 1),
      num(p99Of(p), 1),
      withRange(tailOf(p), (n) => n.toFixed(2)),
      cpuText(cpuOf(p)),
      `${errors}${misses}`,
    ];
  });
}

const PATH_COLUMNS = [
  "path",
  { title: "conn", align: "right" as const },
  { title: "req/s", align: "right" as const },
  { title: "vs", align: "right" as const },
  { title: "p50 ms", align: "right" as const },
  { title: "p99 ms", align: "right" as const },
  { title: "p99/p50", align: "right" as const },
  { title: "server CPU / req", align: "right" as const },
  { title: "errors", align: "right" as const },
];

/** What each HIT-path setting costs: the variants against the HIT as configured. */
function settingsTable(r: BenchResults): string[] {
  const hit = r.paths.find((p) => p.id === PATH.hit);
  const variants = r.paths.filter((p) => p.detail && p.group === "cached");
  if (!hit || variants.length === 0) return ["(not measured in this run)"];
  const base = cpuOf(hit);
  return [
    table(
      [
        "the master's HIT path",
        { title: "req/s vs as configured", align: "right" },
        { title: "server CPU / req", align: "right" },
        { title: "CPU difference", align: "right" },
        { title: "vs static, same logging", align: "right" },
      ],
      [hit, ...variants].map((p) => {
        const cpu = cpuOf(p);
        return [
          p === hit ? `${p.label} (as configured)` : p.label,
          p === hit ? "1×" : withRange(ratioOf(r, p.id, hit.id), (n) => times(n)),
          cpuText(cpu),
          p === hit || cpu === undefined || base === undefined ? "–" : `${cpu - base >= 0 ? "+" : "−"}${num(Math.abs(cpu - base), 1)} µs`,
          r.paths.some((x) => x.id === PATH.staticLogged) ? times(ratioOf(r, p.id, PATH.staticLogged).median) : "–",
        ];
      }),
    ),
  ];
}

function qualityTables(q: readonly QualityResult[]): string[] {
  if (q.length === 0) return ["(not measured in this run)"];
  const out: string[] = [];
  for (const s of q) {
    out.push(
      `**${s.title}** (\`${s.src}\`, ${s.width}×${s.height}). GD at q${s.gd.q}: ${kb(s.gd.bytes)}, SSIM ${s.gd.ssim.toFixed(4)}. ` +
        `Resampling alone, lossless: GD ${s.gd.losslessSsim.toFixed(4)}, resizer ${s.resizerLosslessSsim.toFixed(4)}.`,
      "",
      table(
        [
          "encoder",
          { title: "q for GD's SSIM", align: "right" },
          { title: "bytes", align: "right" },
          { title: "SSIM", align: "right" },
          { title: "vs GD bytes", align: "right" },
          { title: "at default q", align: "right" },
          { title: "CPU / encode", align: "right" },
        ],
        [
          ["GD imagejpeg (the seeds)", String(s.gd.q), kb(s.gd.bytes), s.gd.ssim.toFixed(4), "1.00×", "–", "–"],
          ...s.encoders.map((e) => [
            e.encoder,
            e.reached ? String(e.q) : `not reached (q${e.q})`,
            kb(e.bytes),
            e.ssim.toFixed(4),
            times(e.bytes / s.gd.bytes),
            `q${e.atDefault.q}: ${kb(e.atDefault.bytes)}, SSIM ${e.atDefault.ssim.toFixed(4)}${e.atDefault.ssim < s.gd.ssim ? " (below GD)" : ""}`,
            e.cpuMs === undefined ? "–" : `${num(e.cpuMs, 1)} ms`,
          ]),
        ],
      ),
      "",
    );
  }
  // Over all sources: the sum of bytes at equal quality, per encoder.
  const encoders = q[0]!.encoders.map((e) => e.encoder);
  const gdTotal = q.reduce((n, s) => n + s.gd.bytes, 0);
  out.push(
    "All sources together: the sum of bytes at each source's own GD SSIM (what an ideal per-image quality would cost), and at the one default quality the resizer uses for every image (what it costs; the default must reach GD's SSIM on every source):",
    "",
    table(
      [
        "encoder",
        { title: "bytes at GD's SSIM", align: "right" },
        { title: "vs GD", align: "right" },
        { title: "reached GD's SSIM", align: "right" },
        { title: "default q", align: "right" },
        { title: "bytes at default q", align: "right" },
        { title: "vs GD", align: "right" },
        { title: "default reaches GD's SSIM on", align: "right" },
        { title: "CPU / encode", align: "right" },
      ],
      [
        ["GD imagejpeg (the seeds)", kb(gdTotal), "1.00×", "–", String(q[0]!.gd.q), kb(gdTotal), "1.00×", "–", "–"],
        ...encoders.map((name) => {
          const per = q.map((s) => s.encoders.find((e) => e.encoder === name)!);
          const total = per.reduce((n, e) => n + e.bytes, 0);
          const atDefault = per.reduce((n, e) => n + e.atDefault.bytes, 0);
          const reachedAtDefault = q.filter((s, i) => per[i]!.atDefault.ssim >= s.gd.ssim).length;
          const cpu = per.map((e) => e.cpuMs).filter((x): x is number => x !== undefined);
          return [
            name,
            kb(total),
            times(total / gdTotal),
            `${per.filter((e) => e.reached).length} of ${per.length}`,
            String(per[0]!.atDefault.q),
            kb(atDefault),
            times(atDefault / gdTotal),
            `${reachedAtDefault} of ${per.length}`,
            cpu.length ? `${num(median(cpu), 1)} ms` : "–",
          ];
        }),
      ],
    ),
  );
  return out;
}

const BALANCE_WORDS: Record<string, string> = {
  [BALANCE_MEASURED]: "by cache key (as configured)",
  [BALANCE_CONTRAST]: "least_conn + cache lock (before)",
};

/** The all-answered time of the same N requests once cached (median and range), or "–". */
function cachedFloor(s: BenchResults["stalls"][number]): string {
  const ms = s.trials.flatMap((t) => (t.cachedAllMs === undefined ? [] : [t.cachedAllMs]));
  return ms.length === 0 ? "–" : withRange(spread(ms), (n) => num(n, 0));
}

function stallTable(r: BenchResults): string {
  if (r.stalls.length === 0) return "(not measured in this run)";
  return table(
    [
      "resizer chosen",
      { title: "identical requests at once", align: "right" },
      { title: "all answered, ms", align: "right" },
      { title: "vs one alone", align: "right" },
      { title: "the same, cached, ms", align: "right" },
      { title: "request p50, ms", align: "right" },
      { title: "transforms", align: "right" },
      "X-Cache-Status",
      { title: "failed", align: "right" },
    ],
    r.stalls.map((s) => {
      const statuses: Record<string, number> = {};
      for (const t of s.trials) for (const [k, v] of Object.entries(t.cacheStatuses)) statuses[k] = (statuses[k] ?? 0) + v;
      return [
        BALANCE_WORDS[s.balance] ?? s.balance,
        String(s.concurrency),
        withRange(spread(s.trials.map((t) => t.allMs)), (n) => num(n, 0)),
        s.concurrency === 1 ? "1×" : withRange(stallRatio(r.stalls, s.concurrency, s.balance), (n) => times(n, 1)),
        cachedFloor(s),
        num(median(s.trials.map((t) => t.p50Ms)), 0),
        withRange(spread(s.trials.map((t) => t.transforms)), (n) => num(n)),
        Object.entries(statuses)
          .sort()
          .map(([k, v]) => `${k} ${v}`)
          .join(", "),
        String(s.trials.reduce((n, t) => n + t.failures, 0)),
      ];
    }),
  );
}

const loads = (l: readonly number[]) => l.map((x) => x.toFixed(2)).join(" / ");

/**
 * Whether the machine was busy with other work before the run: then the figures are noise.
 * The start only: the load average at the end is mostly the run's own (it keeps both
 * cores busy for minutes).
 */
export const busy = (r: BenchResults): boolean => (r.machine.loadStart[0] ?? 0) >= 1.5;

/** A run too short for claims (other than --quick, which says so itself): a check of the harness. */
export const reduced = (r: BenchResults): boolean =>
  !r.settings.quick && (r.settings.rounds < CLAIM_MINIMUM.rounds || r.settings.seconds < CLAIM_MINIMUM.seconds);

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const minutes = (seconds: number) => (seconds < 90 ? `${Math.round(seconds)} s` : `${(seconds / 60).toFixed(1)} min`);

export function renderReport(r: BenchResults): string {
  const m = r.machine;
  const v = r.versions;
  const s = r.settings;
  const banner: string[] = [];
  if (s.quick) {
    banner.push(
      `> **Quick run** (\`${s.command ?? "npm run bench -- --quick"}\`: ${plural(s.rounds, "round")} of ${s.seconds} s per row, fewer sources and trials): a smoke test of the harness, not a measurement.`,
    );
  } else if (reduced(r)) {
    banner.push(
      `> **Reduced run** (\`${s.command ?? "npm run bench"}\`: ${plural(s.rounds, "round")} of ${s.seconds} s per row; claims need at least ${CLAIM_MINIMUM.rounds} rounds of ${CLAIM_MINIMUM.seconds} s, \`npm run bench\` runs ${RUN_MODES.full.rounds}): a check of the harness, not a measurement.`,
    );
  }
  if (busy(r)) {
    banner.push(
      `> **The machine was shared** (load average ${loads(m.loadStart)} at the start, on ${m.cores} cores): other work competed with the rows, so these figures are noise. Ratios are less disturbed than absolute numbers (both sides ran in the same round), but still not claims.`,
    );
  }
  const c = claims(r);
  const noise = s.quick || reduced(r) || busy(r);
  return [
    "# image-origin against its peers",
    "",
    ...(banner.length ? [banner.join("\n>\n"), ""] : []),
    `Written by \`${s.command ?? `npm run bench${s.quick ? " -- --quick" : ""}`}\` on ${m.date.slice(0, 16).replace("T", " ")} UTC` +
      `${m.durationSeconds !== undefined ? `, in ${minutes(m.durationSeconds)}` : ""}. ` +
      `Machine: ${m.cores} × ${m.cpuModel}, ${m.memoryGb} GB; load average (1 / 5 / 15 min) ${loads(m.loadStart)} at the start, ${loads(m.loadEnd)} at the end (the run's own load).`,
    "",
    `Versions: node ${v.node}, sharp ${v.sharp}, libvips ${v.libvips}, nginx ${v.nginx}, PHP ${v.php} (php-fpm), GD ${v.gd}, ${v.wrk}.`,
    "",
    `Every row ran ${s.rounds === 1 ? "once" : `${s.rounds} times`} for ${s.seconds} s` +
      `${s.warmupSeconds === undefined ? "" : s.warmupSeconds > 0 ? ` after a ${s.warmupSeconds} s warm-up` : ", without warm-up"}, interleaved (round 1 of every row, then round 2, ...): ` +
      "a ratio is taken between two rows of the same round, and the median of those ratios is the claim. Ranges in parentheses are min–max over the rounds.",
    "",
    "![throughput and latency per path](chart.svg)",
    "",
    "## Claims (issue 15's targets)",
    "",
    table(
      ["claim", { title: "target", align: "right" }, { title: "measured", align: "right" }, { title: "met", align: "right" }],
      c.map((x) => [x.claim, x.target, x.measured, x.met === undefined ? "–" : `${x.met ? "yes" : "**no**"}${noise ? " (noise)" : ""}`]),
    ),
    "",
    ...(c.some((x) => x.reason) ? ["Targets not met, and what this run measured about why:", "", ...c.filter((x) => x.reason).map((x) => `- **${x.claim}**: ${x.reason}`), ""] : []),
    "## Throughput and latency per path",
    "",
    table(PATH_COLUMNS, pathRows(r, r.paths.filter((p) => !p.detail))),
    "",
    "*Server CPU / req*: CPU time of the serving processes (nginx workers, resizers; raw sharp: its own process) per request answered. " +
      "Other work on a shared machine slows these processes down but does not make them do more, so this column is the steadiest one.",
    "",
    "## What each setting of the HIT path costs",
    "",
    "The master as configured, then the same config with one setting taken out, each measured in the same rounds " +
      "(`bench/lib/variants.ts` edits the rendered config's AST; the master is reloaded before each row and restored after):",
    "",
    ...settingsTable(r),
    "",
    "## Concurrent identical requests for a new variant (the cache-lock stall)",
    "",
    `N clients ask the master at the same moment for one variant nobody asked for before (a new size of \`${r.stalls[0]?.src ?? "?"}\`), over connections opened beforehand; ` +
      `${r.stalls[0]?.trials.length ?? 0} trial${r.stalls[0]?.trials.length === 1 ? "" : "s"} per N, each with its own variant. ` +
      "*All answered* is the time from sending to the last complete answer; *the same, cached* is that time for the same N requests sent again once the variant is cached (all HITs): " +
      "what answering N at once costs this machine at all (the client shares its cores with the master and the resizers), the floor under *all answered*. " +
      "*Transforms* is the resizers' counter (`/metrics`) before and after. " +
      "Measured with the resizers chosen by the cache key (`resizer.balance: variant`, as configured: identical requests meet at one replica, which resizes once for all) " +
      "and, for contrast, with `least_conn` and nginx's cache lock (the design before, whose waiters re-check every 500 ms).",
    "",
    stallTable(r),
    "",
    "## Bytes at equal quality",
    "",
    "Per source, the reference is the ideal 320×180 cover crop (the source decoded in full, Lanczos-3, no compression). " +
      "The seeds' GD output (php-fpm + GD, `imagecopyresampled` + `imagejpeg` q80) sets the SSIM to reach; for every encoder a binary search finds " +
      "the lowest quality whose output is at least that close to the reference (SSIM: ssim.js, luma, 11×11 window). " +
      "Rows named *resizer* are the resizer's own answers (`fmt=jpeg`, and `fmt=auto` with an `Accept` that lists WebP or AVIF); " +
      "the others are sharp's encoder options applied to the resizer's lossless output (the same pixels, another encoder). " +
      "*CPU / encode*: CPU time of one encode of the 320×180 pixels in-process, with the row's options (median).",
    "",
    ...qualityTables(r.quality),
    "",
    "## What each row measures",
    "",
    ...r.paths.filter((p) => !p.detail).map((p) => `- **${p.label}**: ${p.measures}`),
    "",
    ...(r.notes.length ? ["## Notes from this run", "", ...r.notes.map((n) => `- ${n}`), ""] : []),
    "## How to run",
    "",
    "```sh",
    `npm run bench             # every row, ${RUN_MODES.full.rounds} interleaved rounds of ${RUN_MODES.full.seconds} s (${RUN_MODES.full.takes} on 2 cores)`,
    `npm run bench -- --quick  # the claims' rows once for ${RUN_MODES.quick.seconds} s, ${RUN_MODES.quick.qualitySources} sources, ${RUN_MODES.quick.stallTrials} stall trials: a smoke test (${RUN_MODES.quick.takes})`,
    "```",
    "",
    "Both install the peers first (`bash scripts/setup.sh bench`: php-fpm, php-gd, wrk, fonts) and start their own local cluster " +
      "with `infra/local/launcher.ts` on free ports; the full run also the container tier on the local Docker engine (`bash scripts/setup-docker.sh`). " +
      "Measure on a quiet machine (`uptime` load below 1.5): the harness says so here when it was not. See bench/README.md.",
    "",
  ].join("\n");
}

const ratioNote = (r: BenchResults, p: PathResult): string | undefined => {
  const v = p.versus[0];
  if (v === undefined) return undefined;
  return `${times(ratioOf(r, p.id, v).median)} ${VERSUS_WORDS[v] ?? v}`;
};

export function chartModel(r: BenchResults): ChartModel {
  const groups = (["resize1080", "resize4000", "cached", "containers"] as const)
    .map((g) => ({
      title: `${GROUP_TITLES[g]}, ${r.paths.find((p) => p.group === g)?.connections ?? "?"} connections`,
      bars: r.paths
        .filter((p) => p.group === g && p.runs.length > 0 && !p.detail)
        .map((p): ChartBar => {
          const s: Spread = rpsOf(p);
          const note = ratioNote(r, p);
          return { label: p.label, kind: p.kind, rps: s.median, rpsMin: s.min, rpsMax: s.max, p50: p50Of(p), p99: p99Of(p), ...(note && { note }) };
        }),
    }))
    .filter((g) => g.bars.length > 0);
  const one = r.stalls.find((s) => s.concurrency === 1 && s.balance === BALANCE_MEASURED);
  const oneMs = one ? median(one.trials.map((t) => t.allMs)) : NaN;
  const m = r.machine;
  return {
    title: "image-origin against its peers: throughput and latency per path",
    subtitle:
      `${m.cores} × ${m.cpuModel}, ${m.date.slice(0, 10)}, ${r.settings.rounds} interleaved round${r.settings.rounds === 1 ? "" : "s"} of ${r.settings.seconds} s ` +
      `(bars: median, whiskers: range)${r.settings.quick ? " — QUICK RUN, smoke test" : reduced(r) ? " — REDUCED RUN, harness check" : ""}${busy(r) ? ` — SHARED MACHINE (load ${m.loadStart[0]?.toFixed(1)}): noise` : ""}`,
    groups,
    ...(r.stalls.length > 0 && {
      stall: {
        title: "Identical requests at once for a new variant (the cache-lock stall)",
        bars: r.stalls.map((s) => {
          const t = spread(s.trials.map((x) => x.transforms));
          const how = s.balance === BALANCE_MEASURED ? "" : ` (${s.balance} + lock, before)`;
          return {
            label: `${s.concurrency === 1 ? "1 request alone" : `${s.concurrency} identical requests`}${how}`,
            // The design before is drawn as a reference, not as image-origin's.
            kind: s.balance === BALANCE_MEASURED ? "ours" : "limit",
            ms: median(s.trials.map((x) => x.allMs)),
            note: t.min === t.max ? `${num(t.max)} transform${t.max === 1 ? "" : "s"}` : `${num(t.min)}–${num(t.max)} transforms`,
          };
        }),
        ...(Number.isFinite(oneMs) && { marker: { ms: oneMs * STALL_LIMIT, label: `target: ${STALL_LIMIT}× one request` } }),
      },
    }),
    footer: "Written by npm run bench; the tables are in bench/results/RESULTS.md. req/s and latency from wrk (raw sharp: timed in-process); latency bars: p50 solid, p99 light.",
  };
}
