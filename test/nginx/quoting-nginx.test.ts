// The printer's quoting proven by nginx itself: hostile values printed as `return 200
// <value>` come back byte for byte from a running nginx (loopback only), and regexes with
// spaces and braces select the locations they should.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { block, d, lit, regex } from "../../infra/nginx/ast.js";
import { HOSTILE } from "../helpers/hostile.js";
import { startNginx, type RunningNginx, minimalConfig } from "../helpers/nginx.js";
import { freePorts, handOver, tempRoot } from "../helpers/stage.js";

function fetchText(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    }).on("error", reject);
  });
}

/** Regexes that need quoting, each with a URI it must match and one it must not. */
const REGEXES: { pattern: string; hit: string; miss: string }[] = [
  { pattern: "^/r/a b{2}$", hit: "/r/a%20bb", miss: "/r/a%20b" },
  { pattern: "^/r/semi;colon$", hit: "/r/semi;colon", miss: "/r/semi" },
  { pattern: "^/r/(x|y)\\.php$", hit: "/r/x.php", miss: "/r/xxphp" },
  { pattern: "^/r/hash#?$", hit: "/r/hash", miss: "/r/hashes" },
];

describe("quoting survives a real nginx", () => {
  let nginx: RunningNginx;
  let port: number;
  const root = tempRoot("quoting");

  before(async () => {
    port = (await freePorts(1))[0]!;
    const run = join(root, "run");
    mkdirSync(run, { recursive: true });
    const conf = join(root, "nginx.conf");
    writeFileSync(
      conf,
      minimalConfig(run, [
        d("default_type", "text/plain"),
        d("charset", "utf-8"),
        block("server", [], [
          d("listen", `127.0.0.1:${port}`),
          ...HOSTILE.map((value, i) => block("location", ["=", `/v/${i}`], [d("return", 200, lit(value))])),
          ...REGEXES.map((r, i) => block("location", ["~", regex(r.pattern)], [d("return", 200, `regex ${i}`)])),
          block("location", ["/"], [d("return", 404, "none")]),
        ]),
      ]),
    );
    handOver(root);
    nginx = await startNginx(conf, root, { host: "127.0.0.1", port });
  });

  after(async () => {
    await nginx?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("returns every hostile literal exactly as written", async () => {
    for (const [i, value] of HOSTILE.entries()) {
      const r = await fetchText(port, `/v/${i}`);
      assert.equal(r.status, 200, `value ${i} ${JSON.stringify(value)}`);
      assert.equal(r.body, value, `value ${i} ${JSON.stringify(value)}`);
    }
  });

  it("matches quoted regexes as written (spaces, braces, semicolons, #)", async () => {
    for (const [i, r] of REGEXES.entries()) {
      assert.equal((await fetchText(port, r.hit)).body, `regex ${i}`, `${r.pattern} should match ${r.hit}`);
      assert.equal((await fetchText(port, r.miss)).status, 404, `${r.pattern} should not match ${r.miss}`);
    }
  });
});
