// The cache-lock case: N clients ask the master at once for a variant nobody asked for
// before. Connections are opened first (as a player's or CDN's would be), so the time
// measured is the master's and the resizers', not TCP set-up. Not pure: HTTP.
import { Agent, request } from "node:http";
import { settledTransforms } from "./load.js";
import type { StallTrial } from "./lib/results.js";
import { median } from "./lib/stats.js";

interface Answer {
  status: number;
  cache: string;
  ms: number;
}

function get(agent: Agent, base: URL, path: string, t0: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, path, agent, timeout: 30_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, cache: String(res.headers["x-cache-status"] ?? "none"), ms: performance.now() - t0 }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within 30 s for ${path}`)));
    req.on("error", reject);
    req.end();
  });
}

/**
 * One trial: `n` identical GETs of `path` through `master`, all sent at once on `n`
 * kept-alive connections; the resizers' transform counter before and after.
 */
export async function stallTrial(master: string, path: string, n: number, resizerUrls: readonly string[], warmPath: string): Promise<StallTrial> {
  const base = new URL(master);
  const agent = new Agent({ keepAlive: true, maxSockets: n, maxFreeSockets: n });
  try {
    // n requests in flight at once make the agent open n connections, kept for the trial.
    const warm = performance.now();
    await Promise.all(Array.from({ length: n }, () => get(agent, base, warmPath, warm)));
    const before = await settledTransforms(resizerUrls);
    const t0 = performance.now();
    const answers = await Promise.all(Array.from({ length: n }, () => get(agent, base, path, t0)));
    const allMs = Math.max(...answers.map((a) => a.ms));
    const after = await settledTransforms(resizerUrls);
    // The floor: the same n requests again on the same connections, now all cache HITs. What
    // remains of allMs above it is the miss (the resize and its sharing), not answering n.
    const t1 = performance.now();
    const again = await Promise.all(Array.from({ length: n }, () => get(agent, base, path, t1)));
    const cached = again.every((a) => a.status === 200 && a.cache === "HIT");
    const cacheStatuses: Record<string, number> = {};
    for (const a of answers) cacheStatuses[a.cache] = (cacheStatuses[a.cache] ?? 0) + 1;
    return {
      allMs,
      p50Ms: median(answers.map((a) => a.ms)),
      transforms: after - before,
      cacheStatuses,
      failures: answers.filter((a) => a.status !== 200).length,
      ...(cached && { cachedAllMs: Math.max(...again.map((a) => a.ms)) }),
    };
  } finally {
    agent.destroy();
  }
}
