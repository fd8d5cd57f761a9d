// Prometheus and the blackbox exporter (Debian's packages) as the operators would run them,
// against a local cluster: the monitoring files `npm run render` writes for its plan, in a
// temp directory, each server on a free loopback port; and the HTTP API the tests read.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MONITORING_FILES, monitoringFiles } from "../../infra/monitoring/index.js";
import { Supervised } from "../../infra/local/process.js";
import { SETUP_COMMAND, findOnPath } from "../../infra/local/tools.js";
import type { ClusterPlan } from "../../infra/topology.js";

export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface ActiveAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: "pending" | "firing";
}

export interface Monitor {
  dir: string;
  prometheusUrl: string;
  query(expr: string): Promise<VectorSample[]>;
  alerts(): Promise<ActiveAlert[]>;
  /** Scrape targets by job and health, as Prometheus reports them. */
  targets(): Promise<{ job: string; health: string; lastError: string; scrapeUrl: string }[]>;
  stop(): Promise<void>;
}

function tool(name: string): string {
  const path = findOnPath(name);
  if (path === undefined) throw new Error(`${name} is missing: run \`${SETUP_COMMAND}\` as root (Debian's prometheus and prometheus-blackbox-exporter)`);
  return path;
}

async function until(ok: () => Promise<boolean>, timeoutMs: number, what: string, tail: () => string[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${timeoutMs / 1000}s:\n${tail().join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts the blackbox exporter on `blackboxPort` (the plan's `monitoring.blackboxExporter`
 * must name it) and Prometheus on `prometheusPort`, with the plan's rendered files.
 */
export async function startMonitor(plan: ClusterPlan, ports: { prometheus: number; blackbox: number }, readyTimeoutMs = 60_000): Promise<Monitor> {
  if (plan.monitoring.blackboxExporter !== `127.0.0.1:${ports.blackbox}`) throw new Error(`the plan names blackbox exporter ${plan.monitoring.blackboxExporter}, not 127.0.0.1:${ports.blackbox}`);
  const dir = mkdtempSync(join(tmpdir(), "image-origin-monitor-"));
  for (const f of monitoringFiles(plan)) writeFileSync(join(dir, f.name), f.content);
  mkdirSync(join(dir, "data"));
  const started: Supervised[] = [];
  const stop = async () => {
    await Promise.all(started.map((p) => p.stop("SIGTERM", 10_000)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const blackbox = await Supervised.start({
      command: tool("prometheus-blackbox-exporter"),
      args: [`--config.file=${join(dir, MONITORING_FILES.blackbox)}`, `--web.listen-address=127.0.0.1:${ports.blackbox}`],
      cwd: dir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      logFile: join(dir, "blackbox.log"),
    });
    started.push(blackbox);
    const prometheus = await Supervised.start({
      command: tool("prometheus"),
      args: [
        `--config.file=${join(dir, MONITORING_FILES.prometheus)}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${ports.prometheus}`,
        "--log.level=warn",
      ],
      cwd: dir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      logFile: join(dir, "prometheus.log"),
    });
    started.push(prometheus);
    const prometheusUrl = `http://127.0.0.1:${ports.prometheus}`;
    await until(async () => (await fetch(`http://127.0.0.1:${ports.blackbox}/health`)).ok, readyTimeoutMs, "blackbox exporter", () => blackbox.tail(8));
    await until(async () => (await fetch(`${prometheusUrl}/-/ready`)).ok, readyTimeoutMs, "prometheus", () => prometheus.tail(8));
    const api = async <T>(path: string): Promise<T> => {
      const res = await fetch(`${prometheusUrl}/api/v1/${path}`, { signal: AbortSignal.timeout(15_000) });
      const body = (await res.json()) as { status: string; data: T; error?: string };
      if (body.status !== "success") throw new Error(`${path}: ${body.error}`);
      return body.data;
    };
    return {
      dir,
      prometheusUrl,
      query: async (expr) => (await api<{ resultType: string; result: VectorSample[] }>(`query?query=${encodeURIComponent(expr)}`)).result,
      alerts: async () => (await api<{ alerts: ActiveAlert[] }>("alerts")).alerts,
      targets: async () =>
        (await api<{ activeTargets: { labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }[] }>("targets")).activeTargets.map((t) => ({
          job: t.labels.job ?? "",
          health: t.health,
          lastError: t.lastError,
          scrapeUrl: t.scrapeUrl,
        })),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
