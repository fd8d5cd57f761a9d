// `node dist/ops/get.js [PATH...]`, run inside the ops container (docker exec, its health
// check): GETs each path from the agent on loopback, which its allow-list always admits.
// One path: its body on stdout, exit 0 on 200. Several (`npm run status` over ssh): one
// JSON object of path -> {status, body}. Node only, so the image needs no curl.
import { OPS_PATHS, opsConfigFromEnv } from "./config.js";

const config = opsConfigFromEnv(process.env);
const base = `http://${config.listen.host.includes(":") ? "[::1]" : "127.0.0.1"}:${config.listen.port}`;
const paths = process.argv.length > 2 ? process.argv.slice(2) : [OPS_PATHS.health];

async function get(path: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(config.timeoutMs * 2) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
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
