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
import { masterConfig } from "../infra/nginx/master.js";
import { print } from "../infra/nginx/print.js";
import { specFromStackYaml, stackFileName } from "../infra/stack.js";
import { findJemalloc, findNginx, findOnPath } from "../infra/local/tools.js";
import { chartSvg } from "./lib/chart.js";
import { IMAGE_FILTER_MODULE } from "./lib/peers-config.js";
import { chartModel, renderReport } from "./lib/report.js";
import { BALANCE_CONTRAST, BALANCE_MEASURED, PATH, RUN_MODES, STALL_CONCURRENCY, type BenchResults, type Group, type PathResult, type Run, type StallResult, type Versions } from "./lib/results.js";
import { HIT_VARIANTS, type HitVariant } from "./lib/variants.js";
import { distinctVariants, gdPath, imageFilterPath, resizePath, slice, TARGET, VARIANT_RANGE_TEXT, variantCapacity, type Variant } from "./lib/workload.js";
import { rawSharp, settledTransforms, wrk, type ClusterPids } from "./load.js";
import { BENCH_SETUP, findPhpFpm, startPeers, type Peers } from "./peers.js";
import { qualityOf } from "./quality.js";
import { startContainerTier, type ContainerTier } from "./containers.js";
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
    /** Leave out the container tier (no Docker engine at hand). */
    "no-containers": { type: "boolean", default: false },
    /** With --quick: the container tier too (it alone takes longer than the quick run). */
    containers: { type: "boolean", default: false },
  },
});
const QUICK = values.quick;
const MODE = QUICK ? RUN_MODES.quick : RUN_MODES.full;
const ROUNDS = Number(values.rounds ?? MODE.rounds);
// Whole seconds: wrk takes no fractions.
const SECONDS = Number(values.seconds ?? MODE.seconds);
const WARMUP_SECONDS = MODE.warmupSeconds;
const STALL_TRIALS = MODE.stallTrials;
const QUALITY_SOURCES = MODE.qualitySources;
// The quick run keeps to the claims' own rows: no per-setting variants of the HIT, no second
// cluster for the least_conn contrast, and no container tier unless asked for.
const DETAILS = MODE.details;
const CONTAINERS = values.containers || (MODE.containers && !values["no-containers"]);
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1 && Number.isInteger(SECONDS) && SECONDS >= 1)) {
  throw new Error(`--rounds and --seconds take whole numbers from 1 (got ${values.rounds ?? ROUNDS}, ${values.seconds ?? SECONDS})`);
}
/** The command as typed, for RESULTS.md (which run wrote it). */
const COMMAND = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
const RESIZE_CONNECTIONS = 8;
const CACHED_CONNECTIONS = 32;
const WRK_THREADS = 2;
const OUT = path.resolve(PROJECT_ROOT, values.out);

const t0 = performance.now();
const log = (line: string) => process.stderr.write(`bench [${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s]: ${line}\n`);

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

/**
 * The local stack's spec, and the same with the resizers picked by load (the design before).
 * The per-client resize limits are off: the load generator is one address standing for many
 * clients, and would be throttled as one (429s) far below what the servers can do.
 */
function specs() {
  const file = stackFileName("local");
  const local = specFromStackYaml(readFileSync(path.join(PROJECT_ROOT, file), "utf8"), file);
  const configured = { ...local, nginx: { ...local.nginx, resizeLimits: { ...local.nginx.resizeLimits, enabled: false } } };
  const r = configured.resizer;
  return {
    configured,
    byLoad: { ...configured, resizer: { ...r, balance: BALANCE_CONTRAST as "least_conn" } },
    // The same slots in a single replica: no variant is placed on one replica or another.
    oneReplica: { ...configured, resizer: { ...r, replicas: 1, concurrency: r.replicas * r.concurrency } },
  };
}

/** The pids whose CPU a cluster's rows count: the master (and its workers), and the resizers (and theirs). */
const masterPids = (c: LocalCluster) => [c.master.pid!];
const missPids = (c: LocalCluster): ClusterPids => ({ nginx: [c.master.pid!], resizers: c.resizers.map((r) => r.pid!) });

/**
 * Switches the running master to a HIT-path variant of its config (or back, without one):
 * the rendered AST edited by `variant`, written where the master reads it, then a graceful
 * reload (nginx -t first).
 */
async function useMasterVariant(cluster: LocalCluster, variant: HitVariant | undefined): Promise<void> {
  const cfg = masterConfig(cluster.host.master);
  writeFileSync(cluster.master.plan.paths.config, print(variant ? variant.apply(cfg) : cfg));
  await cluster.master.reload();
}

/** The rows, in the order each round measures them (each next to what it is compared with). */
function rows(clusters: { configured: LocalCluster; byLoad: LocalCluster | undefined; oneReplica: LocalCluster | undefined }, peers: Peers, containers: ContainerTier | undefined, sources: Sources & { root: string }, work: string, hitPath: string): Row[] {
  const cluster = clusters.configured;
  const byLoad = clusters.byLoad;
  const oneReplica = clusters.oneReplica;
  const slices = ROUNDS + 1; // slice 0: warm-up; slice r+1: round r
  const per1080 = distinctVariants(sources.load1080, variantCapacity(sources.load1080));
  const per4000 = distinctVariants(sources.load4000, variantCapacity(sources.load4000));
  // Each target asks for sizes no other one asks for (the master's cache, the second
  // cluster's, and the resizer's one-second memory of finished transforms): a third each.
  const thirds = (v: Variant[]) => ({ configured: v.filter((_, i) => i % 3 === 0), byLoad: v.filter((_, i) => i % 3 === 1), direct: v.filter((_, i) => i % 3 === 2) });
  const v1080 = thirds(per1080);
  const v4000 = thirds(per4000);
  const sizesFor = (variants: Variant[], s: number) => slice(variants, s, slices);
  const master = cluster.urls.http;
  const resizer = `http://${cluster.host.resizers[0]!.listen.address}:${cluster.host.resizers[0]!.listen.port}`;
  const resizerUrlsOf = (c: LocalCluster) => c.host.resizers.map((r) => `http://${r.listen.address}:${r.listen.port}`);
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
    detail = false,
  ): Row => ({
    result: { id, label, kind, group, connections, measures, versus, runs: [], ...(detail && { detail }) },
    warmup: async () => void (await once(0, "warm")),
    measure: (round) => once(round + 1, "run"),
  });

  const wrkRow = (base: string, pathsOf: (s: number) => string[], connections: number, servers: () => number[] | ClusterPids, transformsOf?: LocalCluster) =>
    async (s: number, mode: "warm" | "run"): Promise<Run> => {
      const before = transformsOf ? await settledTransforms(resizerUrlsOf(transformsOf)) : 0;
      const r = await wrk(base, pathsOf(s), file("paths.txt"), mode === "warm" ? warm(connections) : load(connections), servers());
      quietLogs();
      if (!transformsOf) return r;
      const transforms = (await settledTransforms(resizerUrlsOf(transformsOf))) - before;
      // The CPU went into every transform, including those still in flight when wrk stopped
      // (answered after it stopped counting): per transform, as raw sharp counts it.
      const perTransform = (us: number) => (transforms > r.requests ? (us * r.requests) / transforms : us);
      return {
        ...r,
        transforms,
        ...(r.cpuUs !== undefined && { cpuUs: perTransform(r.cpuUs) }),
        ...(r.cpuParts && { cpuParts: { nginx: perTransform(r.cpuParts.nginx), resizerHttp: perTransform(r.cpuParts.resizerHttp), transformWorkers: perTransform(r.cpuParts.transformWorkers) } }),
      };
    };
  const rawRow = (variants: Variant[], fileOf: string) => async (s: number, mode: "warm" | "run"): Promise<Run> =>
    rawSharp(path.join(sources.root, fileOf), sizesFor(variants, s), file("sizes.txt"), { connections: RESIZE_CONNECTIONS, seconds: mode === "warm" ? WARMUP_SECONDS : SECONDS, quality: TARGET.q });
  const hitRow = (variant: HitVariant | undefined) => async (s: number, mode: "warm" | "run"): Promise<Run> => {
    // The entry lives cache.valid (1m in the local stack): a later round would start on an
    // expired copy (served stale while it revalidates), so it is made fresh first, with the
    // configured master (a variant may not say X-Cache-Status); a reload keeps the cache.
    await freshHit(master, hitPath);
    if (variant) await useMasterVariant(cluster, variant);
    try {
      return await wrkRow(master, () => [hitPath], CACHED_CONNECTIONS, () => masterPids(cluster))(s, mode);
    } finally {
      if (variant) await useMasterVariant(cluster, undefined);
    }
  };

  const C = RESIZE_CONNECTIONS;
  const distinct = `distinct sizes (${VARIANT_RANGE_TEXT}, cover, q${TARGET.q}), each requested once per run`;
  const replicas = cluster.host.resizers.length;
  const missWords = (balance: string) =>
    balance === BALANCE_MEASURED
      ? `the resizers chosen by the cache key (\`resizer.balance: variant\`, as configured)`
      : `the resizers chosen by \`least_conn\` (\`resizer.balance: least_conn\`, the design before: load-aware, but identical requests cannot meet)`;
  return [
    row(PATH.raw1080, "raw sharp in-process (the limit)", "limit", "resize1080", C,
      `bench/raw-sharp.ts in its own process (jemalloc, libuv's default 4 threads, libvips' default threads): ${C} transforms in flight from the source held in memory, the same ${distinct}, encoded with the resizer's own options; no HTTP, no file read.`,
      [], rawRow(v1080.configured, sources.load1080[0]!)),
    row(PATH.master1080, "master, cache MISS", "ours", "resize1080", C,
      `wrk, ${C} connections to the master (local stack, ${replicas} resizer replicas, as \`npm start\` runs it, ${missWords(BALANCE_MEASURED)}): \`/resize?src=load/1920x1080-NN.jpg&w=&h=&q=${TARGET.q}\` (cover: the default), ${distinct}, so every request is a MISS (checked: the resizers' transform counter grows at least by the number of requests; a little more, by the requests still in flight when wrk stops).`,
      [PATH.raw1080], wrkRow(master, (s) => sizesFor(v1080.configured, s).map((v) => resizePath(v)), C, () => missPids(cluster), cluster)),
    ...(byLoad
      ? [
          row(PATH.master1080ByLoad, "master, cache MISS, least_conn", "ours", "resize1080", C,
            `As the MISS row, on a second cluster whose master picks the resizer by \`least_conn\`: ${missWords(BALANCE_CONTRAST)}. Other sizes of the same sources.`,
            [PATH.raw1080], wrkRow(byLoad.urls.http, (s) => sizesFor(v1080.byLoad, s).map((v) => resizePath(v)), C, () => missPids(byLoad), byLoad)),
        ]
      : []),
    ...(oneReplica
      ? [
          row(PATH.master1080OneReplica, "master, cache MISS, one replica", "ours", "resize1080", C,
            `As the MISS row, on a third cluster with the same transform slots in a single resizer replica (\`replicas: 1\`, \`concurrency: ${oneReplica.host.resizers[0]!.env.RESIZER_CONCURRENCY}\`): no variant is placed on one replica rather than another, so this row shows what the placement by key costs the spread. The least_conn cluster's sizes (each cluster has its own cache and resizers).`,
            [PATH.raw1080], wrkRow(oneReplica.urls.http, (s) => sizesFor(v1080.byLoad, s).map((v) => resizePath(v)), C, () => missPids(oneReplica), oneReplica)),
        ]
      : []),
    row(PATH.direct1080, "one resizer direct", "ours", "resize1080", C,
      `wrk, ${C} connections straight to resizer01 (no nginx), URLs of the same kind (other sizes).`,
      [PATH.raw1080], wrkRow(resizer, (s) => sizesFor(v1080.direct, s).map((v) => resizePath(v)), C, () => ({ nginx: [], resizers: [cluster.resizers[0]!.pid!] }), cluster)),
    row(PATH.php1080, "php-fpm + GD behind nginx (the seeds)", "peer", "resize1080", C,
      `wrk, ${C} connections to an nginx passing \`/gd-resize.php\` to php-fpm (static pool, one child per core): GD decodes, \`imagecopyresampled\` cover-crops, \`imagejpeg\` q${TARGET.q}; the same sizes.`,
      [PATH.raw1080], wrkRow(peers.urls.php, (s) => sizesFor(v1080.configured, s).map((v) => gdPath(v)), C, () => [peers.nginxPid, peers.phpPid])),
    row(PATH.filter1080, "nginx image_filter", "peer", "resize1080", C,
      `wrk, ${C} connections to an nginx with \`image_filter crop $arg_w $arg_h\` (cover), \`image_filter_jpeg_quality ${TARGET.q}\`; the same sizes.`,
      [PATH.raw1080], wrkRow(peers.urls.imageFilter, (s) => sizesFor(v1080.configured, s).map((v) => imageFilterPath(v)), C, () => [peers.nginxPid])),
    row(PATH.raw4000, "raw sharp in-process, 4000×3000", "limit", "resize4000", C,
      "As the 1920×1080 limit, from the 4000×3000 source.", [], rawRow(v4000.configured, sources.load4000[0]!)),
    row(PATH.master4000, "master, cache MISS, 4000×3000", "ours", "resize4000", C,
      `As the 1920×1080 MISS row, from copies of the 4000×3000 source (\`load/4000x3000-NN.jpg\`).`,
      [PATH.raw4000], wrkRow(master, (s) => sizesFor(v4000.configured, s).map((v) => resizePath(v)), C, () => missPids(cluster), cluster)),
    ...(byLoad
      ? [
          row(PATH.master4000ByLoad, "master, cache MISS, 4000×3000, least_conn", "ours", "resize4000", C,
            "As the 4000×3000 MISS row, on the cluster whose master picks the resizer by `least_conn`.",
            [PATH.raw4000], wrkRow(byLoad.urls.http, (s) => sizesFor(v4000.byLoad, s).map((v) => resizePath(v)), C, () => missPids(byLoad), byLoad)),
        ]
      : []),
    row(PATH.php4000, "php-fpm + GD, 4000×3000", "peer", "resize4000", C,
      "As the 1920×1080 GD row, from the 4000×3000 source.",
      [PATH.raw4000], wrkRow(peers.urls.php, (s) => sizesFor(v4000.configured, s).map((v) => gdPath(v)), C, () => [peers.nginxPid, peers.phpPid])),
    row(PATH.staticUnlogged, "plain nginx, static file, access_log off", "limit", "cached", CACHED_CONNECTIONS,
      `wrk, ${CACHED_CONNECTIONS} connections, one URL: the bytes of the cached resize as a file, from a plain nginx (no open_file_cache) with the master's main context and http settings (workers, sendfile, keepalive) but \`access_log off\`.`,
      [], wrkRow(peers.urls.staticUnlogged, () => ["/hit.jpg"], CACHED_CONNECTIONS, () => [peers.nginxPid])),
    row(PATH.staticLogged, "plain nginx, static file, same logging", "limit", "cached", CACHED_CONNECTIONS,
      "The same file from the same kind of nginx, logging every request as the master does (its JSON log_format; its own log, buffered as the master's, to a file; the same line as syslog to the cluster's ops agent).",
      [PATH.staticUnlogged], wrkRow(peers.urls.staticLogged, () => ["/hit.jpg"], CACHED_CONNECTIONS, () => [peers.nginxPid])),
    row(PATH.staticUnbuffered, "plain nginx, static file, same format unbuffered", "limit", "cached", CACHED_CONNECTIONS,
      "The same file, logging each line at once (the master's format and both destinations, without the buffer): what buffering saves a static server.",
      [PATH.staticUnlogged], wrkRow(peers.urls.staticUnbuffered, () => ["/hit.jpg"], CACHED_CONNECTIONS, () => [peers.nginxPid])),
    row(PATH.hit, "master, cache HIT", "ours", "cached", CACHED_CONNECTIONS,
      `wrk, ${CACHED_CONNECTIONS} connections, one cached URL (\`${hitPath}\`, X-Cache-Status HIT checked before): the master's resize location serving from proxy_cache, as configured.`,
      [PATH.staticLogged, PATH.staticUnlogged], hitRow(undefined)),
    ...(DETAILS ? HIT_VARIANTS : []).map((v) =>
      row(PATH.hitVariant(v.id), v.label, "ours", "cached", CACHED_CONNECTIONS, `As the HIT row, ${v.what}.`, [PATH.hit, PATH.staticLogged], hitRow(v), true),
    ),
    ...(containers
      ? [
          row(PATH.containerStatic, "containers: plain nginx, static file, same logging", "limit", "containers", CACHED_CONNECTIONS,
            `wrk, ${CACHED_CONNECTIONS} connections to a container made from the master container's own declaration (same image, user, read-only root, limits, Docker \`local\` log driver) serving the same bytes as a file, with the master's logging (stdout, and the same line to the host's ops agent, which refuses it from this address without parsing it); reached at its address on the stack's network (no docker-proxy). CPU: its nginx and dockerd (where the log driver runs).`,
            [], wrkRow(containers.urls.static, () => ["/hit.jpg"], CACHED_CONNECTIONS, () => containers.pids.static)),
          row(PATH.containerHit, "containers: master, cache HIT", "ours", "containers", CACHED_CONNECTIONS,
            "The local stack's containers as the Pulumi program declares them (test/containers' way, on this engine): the HIT URL through the master container, its access log through Docker's log driver.",
            [PATH.containerStatic], async (s, mode) => {
              await freshHit(containers.urls.master, hitPath);
              return wrkRow(containers.urls.master, () => [hitPath], CACHED_CONNECTIONS, () => containers.pids.master)(s, mode);
            }),
        ]
      : []),
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

async function stalls(clusters: { balance: string; cluster: LocalCluster }[], src: string): Promise<StallResult[]> {
  const out: StallResult[] = clusters.flatMap(({ balance }) => STALL_CONCURRENCY.map((concurrency) => ({ balance, concurrency, src, trials: [] as StallResult["trials"] })));
  // Interleaved like the rows; every trial its own variant (sizes no other row asks for).
  let fresh = 0;
  for (let t = 0; t < STALL_TRIALS; t++) {
    for (const s of out) {
      const { cluster } = clusters.find((c) => c.balance === s.balance)!;
      const resizerUrls = cluster.host.resizers.map((r) => `http://${r.listen.address}:${r.listen.port}`);
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
  let byLoad: LocalCluster | undefined;
  let oneReplica: LocalCluster | undefined;
  let peers: Peers | undefined;
  let containers: ContainerTier | undefined;
  const stopAll = async () => {
    await containers?.stop();
    await peers?.stop();
    await oneReplica?.stop();
    await byLoad?.stop();
    await cluster?.stop();
    rmSync(work, { recursive: true, force: true });
  };
  // Interrupted (Ctrl-C, a CI job's timeout, kill): the clusters, the peers and the
  // containers go too, instead of outliving the run on their ports.
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));
  process.once("SIGTERM", () => void stopAll().then(() => process.exit(143)));
  try {
    log("starting the local cluster and the peers...");
    const { configured, byLoad: byLoadSpec, oneReplica: oneReplicaSpec } = specs();
    cluster = await startCluster({ spec: configured, stack: "local", ports: "free", imagesDir: sources.root });
    if (DETAILS) byLoad = await startCluster({ spec: byLoadSpec, stack: "local", ports: "free", imagesDir: sources.root });
    if (DETAILS) oneReplica = await startCluster({ spec: oneReplicaSpec, stack: "local", ports: "free", imagesDir: sources.root });
    // The variants of the HIT rows are edits of the AST the master was started from.
    if (readFileSync(cluster.master.plan.paths.config, "utf8") !== print(masterConfig(cluster.host.master))) {
      throw new Error("the running master's config is not the one its plan renders: the HIT variants would not differ from it by one setting");
    }
    peers = await startPeers({ dir: path.join(work, "peers"), imagesRoot: sources.root, master: cluster.host.master, largestSourceBytes: sources.largestBytes, probeImage: sources.load1080[0]! });
    const peerInfo = (await (await fetch(`${peers.urls.php}/gd-resize.php?info=1`)).json()) as { php: string; gd: string };

    const hitPath = resizePath({ src: sources.quality[0]!.src, w: TARGET.w, h: TARGET.h });
    await prepareHit(cluster, peers, hitPath);

    if (CONTAINERS) {
      const staticDir = path.join(work, "container-static");
      mkdirSync(staticDir, { recursive: true });
      chmodSync(staticDir, 0o755);
      containers = await startContainerTier({ imagesDir: sources.root, staticDir, work, log });
      // The container master's own bytes for the HIT URL, as the static container's file.
      writeFileSync(path.join(staticDir, "hit.jpg"), await freshHit(containers.urls.master, hitPath));
      chmodSync(path.join(staticDir, "hit.jpg"), 0o644);
    }

    const table = rows({ configured: cluster, byLoad, oneReplica }, peers, containers, sources, work, hitPath);
    if (WARMUP_SECONDS > 0) {
      log(`warm-up (${WARMUP_SECONDS} s per row)...`);
      for (const r of table) await r.warmup();
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of table) {
        const run = await r.measure(round);
        r.result.runs.push(run);
        log(`round ${round + 1}/${ROUNDS} ${r.result.label}: ${run.rps.toFixed(1)} req/s, p50 ${run.p50.toFixed(1)} ms, p99 ${run.p99.toFixed(1)} ms${run.errors ? `, ${run.errors} errors` : ""}${run.transforms !== undefined ? `, ${run.transforms} transforms for ${run.requests} requests` : ""}`);
      }
    }

    log("concurrent identical requests (cache lock)...");
    const stallResults = await stalls(
      [{ balance: BALANCE_MEASURED, cluster }, ...(byLoad ? [{ balance: BALANCE_CONTRAST, cluster: byLoad }] : [])],
      sources.quality[0]!.src,
    );

    log("bytes at equal quality...");
    const resizer = `http://${cluster.host.resizers[0]!.listen.address}:${cluster.host.resizers[0]!.listen.port}`;
    const quality = [];
    for (const s of sources.quality.slice(0, QUALITY_SOURCES)) quality.push(await qualityOf(s, sources.root, { resizer, gd: peers.urls.php }, MODE.timedEncodes));

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
        durationSeconds: Math.round((Date.now() - started.getTime()) / 1000),
      },
      versions: versions(peerInfo),
      settings: { quick: QUICK, rounds: ROUNDS, seconds: SECONDS, command: COMMAND, warmupSeconds: WARMUP_SECONDS, resizeConnections: RESIZE_CONNECTIONS, cachedConnections: CACHED_CONNECTIONS, wrkThreads: WRK_THREADS },
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
