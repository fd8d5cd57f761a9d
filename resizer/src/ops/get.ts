// `node dist/ops/get.js [PATH...]`, run inside the ops container (docker exec, its health
// check): GETs each path from the agent on loopback, which its allow-list always admits.
// One path: its body on stdout, exit 0 on 200. Several (`npm run status` over ssh): one
// JSON object of path -> {status, body}. Node only, so the image needs no curl; and only
// Node, without the agent's modules, so that it fits beside the agent in the container's
// memory limit (it reads the port from OPS_CONFIG, which the agent itself validated).
import { request } from "node:http";
import { OPS_CONFIG_ENV } from "./names.js";

const config = JSON.parse(process.env[OPS_CONFIG_ENV] ?? "{}") as { listen?: { host?: string; port?: number }; timeoutMs?: number };
const base = `http://${config.listen?.host?.includes(":") ? "[::1]" : "127.0.0.1"}:${config.listen?.port ?? 0}`;
const paths = process.argv.length > 2 ? process.argv.slice(2) : ["/healthz"];
const timeoutMs = 2 * (config.timeoutMs ?? 2_000);

/** node:http rather than fetch: undici alone would double this helper's memory. */
function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(`${base}${path}`, { timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", (err) => resolve({ status: 0, body: err.message }));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (err: NodeJS.ErrnoException) => resolve({ status: 0, body: err.code ?? err.message }));
    req.end();
  });
}

void (async () => {
  if (paths.length === 1) {
    const r = await get(paths[0]!);
    process.stdout.write(r.body);
    process.exit(r.status === 200 ? 0 : 1);
  }
  const out = Object.fromEntries(await Promise.all(paths.map(async (p) => [p, await get(p)] as const)));
  process.stdout.write(`${JSON.stringify(out)}\n`);
})();
