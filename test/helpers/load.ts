// A steady stream of HTTPS requests, each on a new connection (a new TLS handshake, so each
// one shows which certificate the server presented), verified against a CA: counts every
// request, every failure and the certificate serials seen.
import { X509Certificate } from "node:crypto";
import { request } from "node:https";
import type { TLSSocket } from "node:tls";

export interface LoadStats {
  requests: number;
  failed: number;
  /** The first few failures, for the assertion message. */
  errors: string[];
  /** Certificate serial -> responses served with it. */
  serials: Map<string, number>;
  /** Serial per response, in completion order. */
  order: string[];
}

export interface LoadTarget {
  address: string;
  port: number;
  servername: string;
  path: string;
  /** PEM CA the server certificate must chain to (full verification, name included). */
  ca: string;
  expect: (status: number, body: string) => boolean;
}

function once(target: LoadTarget): Promise<{ serial: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.address, port: target.port, path: target.path, servername: target.servername, headers: { host: target.servername }, ca: target.ca, agent: false, timeout: 10_000 },
      (res) => {
        const peer = (res.socket as TLSSocket).getPeerX509Certificate?.() as X509Certificate | undefined;
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => {
          if (!target.expect(res.statusCode ?? 0, body)) reject(new Error(`status ${res.statusCode}: ${body.slice(0, 80)}`));
          else resolve({ serial: peer?.serialNumber ?? "?" });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** `workers` loops of requests until `stop()`; resolves with the counts once all finished. */
export function startLoad(target: LoadTarget, workers = 4): { stop: () => Promise<LoadStats>; stats: LoadStats } {
  const stats: LoadStats = { requests: 0, failed: 0, errors: [], serials: new Map(), order: [] };
  let running = true;
  const loop = async () => {
    while (running) {
      stats.requests++;
      try {
        const { serial } = await once(target);
        stats.serials.set(serial, (stats.serials.get(serial) ?? 0) + 1);
        stats.order.push(serial);
      } catch (err) {
        stats.failed++;
        if (stats.errors.length < 5) stats.errors.push((err as Error).message);
      }
    }
  };
  const loops = Array.from({ length: workers }, loop);
  return {
    stats,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}
