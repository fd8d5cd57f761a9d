// A client of the VIP run inside a test's client namespace (`ip netns exec <ns> node
// --import tsx vip-client.ts <json>`): GETs `path` on a new connection each, checks the
// status and the bytes' sha256, and prints one JSON line per request ({at, end, ok, error},
// start and end in epoch ms) until SIGTERM.
import { createHash } from "node:crypto";
import { request } from "node:http";

const { address, port, host, path, sha256, timeoutMs } = JSON.parse(process.argv[2]!) as {
  address: string;
  port: number;
  host: string;
  path: string;
  sha256: string;
  timeoutMs: number;
};
let running = true;
process.on("SIGTERM", () => (running = false));

function once(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: address, port, path, headers: { host }, agent: false }, (res) => {
      const hash = createHash("sha256");
      res.on("data", (c: Buffer) => hash.update(c));
      res.on("end", () => resolve(res.statusCode !== 200 ? `status ${res.statusCode}` : hash.digest("hex") !== sha256 ? "wrong bytes" : undefined));
      res.on("error", (err) => resolve(`response aborted: ${err.message}`));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message));
    req.end();
  });
}

void (async () => {
  while (running) {
    const at = performance.timeOrigin + performance.now();
    const error = await once();
    const end = performance.timeOrigin + performance.now();
    process.stdout.write(`${JSON.stringify({ at, end, ok: error === undefined, ...(error && { error }) })}\n`);
    if (error) await new Promise((r) => setTimeout(r, 10));
  }
})();
