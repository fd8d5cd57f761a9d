// One read of a host for `npm run status`: its health check on every published port, as
// the L4 and the rollout gate ask it (from this machine), and its ops listener: directly
// for a local cluster, through the host's ssh and `docker exec` into its ops agent for a
// deployed one (as `pulumi up` reaches the hosts; the listener itself answers only the
// monitoring networks). Not pure: HTTP and subprocesses.
import { execFile } from "node:child_process";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { OPS_COMMANDS } from "../../resizer/src/ops/config.js";
import { healthPorts, opsTarget } from "../monitoring/targets.js";
import { dockerOnHost } from "../remote.js";
import { HEALTH, type ClusterPlan, type HostPlan } from "../topology.js";
import { parseExposition } from "./metrics.js";
import type { HostRead } from "./view.js";

function get(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const https = url.startsWith("https:");
    // The health check's view: any certificate (the gate's `curl --insecure`), no SNI, as an L4 asks.
    const req = (https ? httpsRequest : httpRequest)(url, { timeout: timeoutMs, agent: false, ...(https && { rejectUnauthorized: false }) }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

const reason = (err: unknown) => ((err as NodeJS.ErrnoException).code ?? (err as Error).message);

/** The ops listener's paths, each as {status, body}. */
async function opsPaths(plan: ClusterPlan, host: HostPlan, paths: string[], timeoutMs: number): Promise<Record<string, { status: number; body: string }>> {
  if (plan.target === "local") {
    const base = `http://${opsTarget(host)}`;
    const entries = await Promise.all(paths.map(async (p) => [p, await get(`${base}${p}`, timeoutMs).catch((e: unknown) => ({ status: 0, body: reason(e) }))] as const));
    return Object.fromEntries(entries);
  }
  const command = dockerOnHost(host, ["exec", host.ops.name, ...OPS_COMMANDS.get(...paths)]);
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile("sh", ["-c", command], { timeout: timeoutMs * 3, maxBuffer: 64 * 1024 * 1024 }, (err, out, errOut) => (err ? reject(new Error(errOut.trim().split("\n").pop() || err.message)) : resolve(out))),
  );
  return JSON.parse(stdout) as Record<string, { status: number; body: string }>;
}

export async function readHost(plan: ClusterPlan, host: HostPlan, timeoutMs = 3_000): Promise<HostRead> {
  const at = Date.now();
  const healthP = Promise.all(
    healthPorts(host).map(async (p) => {
      try {
        const url = `${p.scheme}://${p.address.includes(":") ? `[${p.address}]` : p.address}:${p.port}${HEALTH.path}`;
        return { port: p.port, status: (await get(url, timeoutMs)).status };
      } catch (err) {
        return { port: p.port, error: reason(err) };
      }
    }),
  );
  const paths = [host.ops.paths.metrics, ...host.ops.paths.resizers.map((r) => r.path)];
  let ops: HostRead["ops"];
  let resizers: HostRead["resizers"];
  try {
    const got = await opsPaths(plan, host, paths, timeoutMs);
    const parsed = (path: string) => {
      const r = got[path];
      return r?.status === 200 ? { samples: parseExposition(r.body) } : { error: r === undefined ? "not read" : r.status === 0 ? r.body : `answered ${r.status}: ${r.body.trim().slice(0, 80)}` };
    };
    ops = parsed(host.ops.paths.metrics);
    resizers = host.ops.paths.resizers.map((r) => ({ role: r.role, ...parsed(r.path) }));
  } catch (err) {
    ops = { error: reason(err) };
    resizers = host.ops.paths.resizers.map((r) => ({ role: r.role, error: "ops listener unreachable" }));
  }
  return { host: host.name, at, health: await healthP, ops, resizers };
}
