// npm run bench [-- --quick]
//
// image-origin against its peers, side by side in one run on this machine: raw sharp
// in-process (the limit), the master's cache MISS through a real local cluster (started
// by the launcher `npm start` uses), one resizer direct, php-fpm + GD behind nginx (the
// seeds' design), nginx image_filter, the master's cache HIT against a plain nginx
// serving the same bytes as a file; then the cache-lock case and bytes at equal quality.
// Writes bench/results/RESULTS.md, results.json, chart.svg and chart.png. Never run by
// `npm test`; the peers come from `bash scripts/setup.sh bench` (the npm script runs it).
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { PROJECT_ROOT, startCluster, type LocalCluster } from "../infra/local/launcher.js";
import { findJemalloc, findNginx, findOnPath } from "../infra/local/tools.js";
import { chartSvg } from "./lib/chart.js";
import { IMAGE_FILTER_MODULE } from "./lib/peers-config.js";
import { chartModel, renderReport } from "./lib/report.js";
import { PATH, STALL_CONCURRENCY, type BenchResults, type Group, type PathResult, type Run, type StallResult, type Versions } from "./lib/results.js";
import { distinctVariants, gdPath, imageFilterPath, resizePath, slice, TARGET, VARIANT_RANGE_TEXT, variantCapacity, type Variant } from "./lib/workload.js";
import { rawSharp, settledTransforms, wrk } from "./load.js";
import { BENCH_SETUP, findPhpFpm, startPeers, type Peers } from "./peers.js";
import { qualityOf } from "./quality.js";
import { ensureSources, type Sources } from "./sources.js";
import { stallTrial } from "./stall.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    seconds: { type: "string" },
    out: { type: "string", default: "bench/results" },
    /** Re-write RESULTS.md and the chart from <out>/results.json, measuring nothing. */
    "report-only": { type: "boolean", default: false },
  },
});
const QUICK = values.quick;
const ROUNDS = Number(values.rounds ?? (QUICK ? 1 : 3));
// Whole seconds: wrk takes no fractions.
const SECONDS = Number(values.seconds ?? (QUICK ? 1 : 5));
const WARMUP_SECONDS = 1;
const STALL_TRIALS = QUICK ? 1 : 5;
const QUALITY_SOURCES = QUICK ? 2 : Infinity;
const RESIZE_CONNECTIONS = 8;
const CACHED_CONNECTIONS = 32;
const WRK_THREADS = 2;
const OUT = path.resolve(PROJECT_ROOT, values.out);

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

function preflight(): void {
  const missing: string[] = [];
  if (findOnPath("wrk") === undefined) missing.push("wrk");
  if (findPhpFpm() === undefined) missing.push("php-fpm");
  if (findNginx() === undefined) missing.push("nginx");
  if (!existsSync(IMAGE_FILTER_MODULE)) missing.push("nginx's image_filter module");
  if (findJemalloc() === undefined) missing.push("libjemalloc2");
  if (missing.length > 0) throw new Error(`missing: ${missing.join(", ")}; run \`${BENCH_SETUP}\` as root (npm run bench does)`);
}

function versions(peerInfo: { php: string; gd: string }): Versions {
  const first = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    return `${r.stdout}${r.stderr}`.trim().split("\n")[0] ?? "?";
  };
  return {
    node: process.version,
    sharp: sharp.versions.sharp ?? "?",
    libvips: sharp.versions.vips,
    nginx: first(findNginx()!, ["-v"]).replace(/^nginx version:\s*nginx\//, ""),
    php: peerInfo.php,
    gd: peerInfo.gd,
    wrk: first("wrk", ["-v"]).replace(/\s*\[.*$/, "").replace(/^wrk debian\//, "wrk "),
  };
}

interface Row {
  result: PathResult;
  /** One measurement in round `round` (0-based); `warmup` runs once before round 0. */
  measure(round: number): Promise<Run>;
  warmup(): Promise<void>;
}

/** The rows, in the order each round measures them (each next to what it is compared with). */
function rows(cluster: LocalCluster, peers: Peers, sources: Sources & { root: string }, work: string, hitPath: string): Row[] {
  const slices = ROUNDS + 1; // slice 0: warm-up; slice r+1: round r
  const per1080 = distinctVariants(sources.load1080, variantCapacity(sources.load1080));
  const per4000 = distinctVariants(sources.load4000, variantCapacity(sources.load4000));
  const sizesFor = (variants: Variant[], s: number) => slice(variants, s, slices);
  const master = cluster.urls.http;
  const resizer = `http://${cluster.host.resizers[0]!.listen.address}:${cluster.host.resizers[0]!.listen.port}`;
  const resizerUrls = cluster.host.resizers.map((r) => `http://${r.listen.address}:${r.listen.port}`);
  const file = (name: string) => path.join(work, name);
  const load = (connections: number) => ({ threads: WRK_THREADS, connections, seconds: SECONDS });
  const warm = (connections: number) => ({ threads: WRK_THREADS, connections, seconds: WARMUP_SECONDS });
  const quietLogs = () => {
    // Access logs of the c32 rows grow by ~100 MB per run: emptied after each (nginx appends, so this is safe).
    for (const f of [cluster.master.accessLog, peers.accessLog]) if (existsSync(f)) truncateSync(f, 0);
  };

  const row = (
    id: string,
    label: string,
    kind: PathResult["kind"],
    group: Group,
    connections: number,
    measures: string,
    versus: string[],
    once: (s: number, seconds: "warm" | "run") => Promise<Run>,
  ): Row => ({
    result: { id, label, kind, group, connections, measures, versus, runs: [] },
    warmup: async () => void (await once(0, "warm")),
    measure: (round) => once(round + 1, "run"),
  });

  const wrkRow = (base: string, pathsOf: (s: number) => string[], connections: number, countTransforms = false, headers?: Record<string, string>) =>
    async (s: number, mode: "warm" | "run"): Promise<Run> => {
      const before = countTransforms ? await settledTransforms(resizerUrls) : 0;
      const r = await wrk(base, pathsOf(s), file("paths.txt"), { ...(mode === "warm" ? warm(connections) : load(connections)), ...(headers && { headers }) });
      quietLogs();
      if (!countTransforms) return r;
      return { ...r, transforms: (await settledTransforms(resizerUrls)) - before };
    };
  const rawRow = (variants: Variant[], fileOf: string) => async (s: number, mode: "warm" | "run"): Promise<Run> =>
    rawSharp(path.join(sources.root, fileOf), sizesFor(variants, s), file("sizes.txt"), { connections: RESIZE_CONNECTIONS, seconds: mode === "warm" ? WARMUP_SECONDS : SECONDS, quality: TARGET.q });

  const C = RESIZE_CONNECTIONS;
  const distinct = `distinct sizes (${VARIANT_RANGE_TEXT}, cover, q${TARGET.q}), each requested once per run`;
  return [
    row(PATH.raw1080, "raw sharp in-process (the limit)", "limit", "resize1080", C,
      `bench/raw-sharp.ts in its own process (jemalloc, libuv's default 4 threads, libvips' default threads): ${C} transforms in flight from the source held in memory, the same ${distinct}; no HTTP, no file read.`,
      [], rawRow(per1080, sources.load1080[0]!)),
    row(PATH.master1080, "master, cache MISS", "ours", "resize1080", C,
      `wrk, ${C} connections to the master (local stack, ${cluster.host.resizers.length} resizer replicas, as \`npm start\` runs it): \`/resize?src=load/1920x1080-NN.jpg&w=&h=&fit=cover&q=${TARGET.q}\`, ${distinct}, so every request is a MISS (checked: the resizers' transform counter grows at least by the number of requests; a little more, by the requests still in flight when wrk stops).`,
      [PATH.raw1080], wrkRow(master, (s) => sizesFor(per1080, s).map((v) => resizePath(v)), C, true)),
    row(PATH.direct1080, "one resizer direct", "ours", "resize1080", C,
      `wrk, ${C} connections straight to resizer01 (no nginx), the same URLs.`,
      [PATH.raw1080], wrkRow(resizer, (s) => sizesFor(per1080, s).map((v) => resizePath(v)), C)),
    row(PATH.php1080, "php-fpm + GD behind nginx (the seeds)", "peer", "resize1080", C,
      `wrk, ${C} connections to an nginx passing \`/gd-resize.php\` to php-fpm (static pool, one child per core): GD decodes, \`imagecopyresampled\` cover-crops, \`imagejpeg\` q${TARGET.q}; the same sizes.`,
      [PATH.raw1080], wrkRow(peers.urls.php, (s) => sizesFor(per1080, s).map((v) => gdPath(v)), C)),
    row(PATH.filter1080, "nginx image_filter", "peer", "resize1080", C,
      `wrk, ${C} connections to an nginx with \`image_filter crop $arg_w $arg_h\` (cover), \`image_filter_jpeg_quality ${TARGET.q}\`; the same sizes.`,
      [PATH.raw1080], wrkRow(peers.urls.imageFilter, (s) => sizesFor(per1080, s).map((v) => imageFilterPath(v)), C)),
    row(PATH.raw4000, "raw sharp in-process, 4000×3000", "limit", "resize4000", C,
      "As the 1920×1080 limit, from the 4000×3000 source.", [], rawRow(per4000, sources.load4000[0]!)),
    row(PATH.master4000, "master, cache MISS, 4000×3000", "ours", "resize4000", C,
      `As the 1920×1080 MISS row, from copies of the 4000×3000 source (\`load/4000x3000-NN.jpg\`).`,
      [PATH.raw4000], wrkRow(master, (s) => sizesFor(per4000, s).map((v) => resizePath(v)), C, true)),
    row(PATH.php4000, "php-fpm + GD, 4000×3000", "peer", "resize4000", C,
      "As the 1920×1080 GD row, from the 4000×3000 source.",
      [PATH.raw4000], wrkRow(peers.urls.php, (s) => sizesFor(per4000, s).map((v) => gdPath(v)), C)),
    row(PATH.staticUnlogged, "plain nginx, static file, access_log off", "limit", "cached", CACHED_CONNECTIONS,
      `wrk, ${CACHED_CONNECTIONS} connections, one URL: the bytes of the cached resize as a file, from an nginx with the master's main context and http settings (workers, sendfile, keepalive) but \`access_log off\`.`,
      [], wrkRow(peers.urls.staticUnlogged, () => ["/hit.jpg"], CACHED_CONNECTIONS)),
    row(PATH.staticLogged, "plain nginx, static file, same logging", "limit", "cached", CACHED_CONNECTIONS,
      "The same file from the same kind of nginx, logging every request as the master does (its log_format and access_log, unbuffered, to a file).",
      [PATH.staticUnlogged], wrkRow(peers.urls.staticLogged, () => ["/hit.jpg"], CACHED_CONNECTIONS)),
    row(PATH.hit, "master, cache HIT", "ours", "cached", CACHED_CONNECTIONS,
      `wrk, ${CACHED_CONNECTIONS} connections, one cached URL (\`${hitPath}\`, X-Cache-Status HIT checked before): the master's resize location serving from proxy_cache.`,
      [PATH.staticLogged, PATH.staticUnlogged], async (s, mode) => {
        // The entry lives cache.valid (1m in the local stack): a later round would start on an
        // expired copy (served stale while it revalidates), so it is made fresh first.
        await freshHit(master, hitPath);
        return wrkRow(master, () => [hitPath], CACHED_CONNECTIONS)(s, mode);
      }),
  ];
}

/** Asks for `hitPath` until the master answers it from a fresh cache entry. */
async function freshHit(master: string, hitPath: string): Promise<Buffer> {
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${master}${hitPath}`);
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status === 200 && res.headers.get("x-cache-status") === "HIT") return body;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${hitPath} is not answered from the master's cache (no X-Cache-Status: HIT after 20 tries)`);
}

async function prepareHit(cluster: LocalCluster, peers: Peers, hitPath: string): Promise<void> {
  const body = await freshHit(cluster.urls.http, hitPath);
  writeFileSync(path.join(peers.staticRoot, "hit.jpg"), body);
  chmodSync(path.join(peers.staticRoot, "hit.jpg"), 0o644);
  for (const base of [peers.urls.staticLogged, peers.urls.staticUnlogged]) {
    const s = Buffer.from(await (await fetch(`${base}/hit.jpg`)).arrayBuffer());
    if (!s.equals(body)) throw new Error(`${base}/hit.jpg does not serve the cached bytes`);
  }
}

async function stalls(cluster: LocalCluster, src: string): Promise<StallResult[]> {
  const resizerUrls = cluster.host.resizers.map((r) => `http://${r.listen.address}:${r.listen.port}`);
  const out: StallResult[] = STALL_CONCURRENCY.map((concurrency) => ({ concurrency, src, trials: [] }));
  // Interleaved like the rows; every trial its own variant (sizes no other row asks for).
  let fresh = 0;
  for (let t = 0; t < STALL_TRIALS; t++) {
    for (const s of out) {
      const v = { src, w: 400 + fresh, h: 225 };
      fresh++;
      s.trials.push(await stallTrial(cluster.urls.http, resizePath(v), s.concurrency, resizerUrls, "/healthz"));
    }
  }
  return out;
}

async function main(): Promise<void> {
  preflight();
  const started = new Date();
  const loadStart = loadavg();
  if (loadStart[0]! >= 1.5) log(`load average ${loadStart.map((l) => l.toFixed(2)).join(" ")}: the machine is busy, the figures will be noise (said in RESULTS.md)`);
  log("sources (drawn once, then reused)...");
  const sources = await ensureSources(tmpdir());
  const work = mkdtempSync(path.join(tmpdir(), "image-origin-bench-"));
  chmodSync(work, 0o755);
  let cluster: LocalCluster | undefined;
  let peers: Peers | undefined;
  const stopAll = async () => {
    await peers?.stop();
    await cluster?.stop();
    rmSync(work, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));
  try {
    log("starting the local cluster and the peers...");
    cluster = await startCluster({ stack: "local", ports: "free", imagesDir: sources.root });
    peers = await startPeers({ dir: path.join(work, "peers"), imagesRoot: sources.root, master: cluster.host.master, largestSourceBytes: sources.largestBytes, probeImage: sources.load1080[0]! });
    const peerInfo = (await (await fetch(`${peers.urls.php}/gd-resize.php?info=1`)).json()) as { php: string; gd: string };

    const hitPath = resizePath({ src: sources.quality[0]!.src, w: TARGET.w, h: TARGET.h });
    await prepareHit(cluster, peers, hitPath);

    const table = rows(cluster, peers, sources, work, hitPath);
    log(`warm-up (${WARMUP_SECONDS} s per row)...`);
    for (const r of table) await r.warmup();
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of table) {
        const run = await r.measure(round);
        r.result.runs.push(run);
        log(`round ${round + 1}/${ROUNDS} ${r.result.label}: ${run.rps.toFixed(1)} req/s, p50 ${run.p50.toFixed(1)} ms, p99 ${run.p99.toFixed(1)} ms${run.errors ? `, ${run.errors} errors` : ""}${run.transforms !== undefined ? `, ${run.transforms} transforms for ${run.requests} requests` : ""}`);
      }
    }

    log("concurrent identical requests (cache lock)...");
    const stallResults = await stalls(cluster, sources.quality[0]!.src);

    log("bytes at equal quality...");
    const resizer = `http://${cluster.host.resizers[0]!.listen.address}:${cluster.host.resizers[0]!.listen.port}`;
    const quality = [];
    for (const s of sources.quality.slice(0, QUALITY_SOURCES)) quality.push(await qualityOf(s, sources.root, { resizer, gd: peers.urls.php }));

    const notes: string[] = [];
    for (const r of table) {
      const runs = r.result.runs;
      if (runs.some((x) => x.transforms !== undefined && x.transforms < x.requests)) {
        notes.push(`${r.result.label}: fewer transforms than requests in a run, so some requests were not MISSes (${runs.map((x) => `${x.transforms}/${x.requests}`).join(", ")}).`);
      }
      const errors = runs.reduce((n, x) => n + x.errors, 0);
      if (errors > 0) notes.push(`${r.result.label}: ${errors} failed requests (socket errors, timeouts or non-2xx/3xx answers).`);
    }
    const results: BenchResults = {
      machine: {
        cpuModel: cpus()[0]?.model.trim() ?? "?",
        cores: cpus().length,
        memoryGb: Math.round(totalmem() / 1024 ** 3),
        loadStart,
        loadEnd: loadavg(),
        date: started.toISOString(),
      },
      versions: versions(peerInfo),
      settings: { quick: QUICK, rounds: ROUNDS, seconds: SECONDS, resizeConnections: RESIZE_CONNECTIONS, cachedConnections: CACHED_CONNECTIONS, wrkThreads: WRK_THREADS },
      paths: table.map((r) => r.result),
      stalls: stallResults,
      quality,
      notes,
    };
    mkdirSync(OUT, { recursive: true });
    writeFileSync(path.join(OUT, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
    await writeReport(results);
    log(`done in ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s`);
  } finally {
    await stopAll();
  }
}

async function writeReport(results: BenchResults): Promise<void> {
  writeFileSync(path.join(OUT, "RESULTS.md"), renderReport(results));
  const svg = chartSvg(chartModel(results));
  writeFileSync(path.join(OUT, "chart.svg"), svg);
  await sharp(Buffer.from(svg)).png().toFile(path.join(OUT, "chart.png"));
  log(`wrote ${path.relative(PROJECT_ROOT, OUT) || "."}/RESULTS.md, chart.svg, chart.png`);
}

const task = values["report-only"] ? () => writeReport(JSON.parse(readFileSync(path.join(OUT, "results.json"), "utf8")) as BenchResults) : main;
// Exits explicitly: fetch's pooled keep-alive connections would hold the process a few seconds more.
task().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
