// The master's per-setting variants that `npm run bench` measures on the HIT path: each
// changes exactly its setting and nothing else, and the real nginx loads every one.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { masterConfig, renderMaster } from "../../infra/nginx/master.js";
import { print } from "../../infra/nginx/print.js";
import { HIT_VARIANTS } from "../../bench/lib/variants.js";
import { assertNginxAccepts } from "../helpers/nginx.js";
import { deep, parseConf, type Stmt } from "../helpers/nginx-conf.js";
import { NGINX_NAMES } from "../../infra/topology.js";
import { stageCluster, stackSpec, tempRoot } from "../helpers/stage.js";

const roots: string[] = [];
after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/** Every directive as `name args`, in order (comments and layout ignored). */
function directives(text: string): string[] {
  const out: string[] = [];
  const walk = (stmts: Stmt[]) => {
    for (const s of stmts) {
      out.push([s.name, ...s.args].join(" "));
      if (s.block) walk(s.block);
    }
  };
  walk(parseConf(text));
  return out;
}

/** What `b` has that `a` lacks and the reverse, as multisets of directives. */
function difference(a: string[], b: string[]): { removed: string[]; added: string[] } {
  const count = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  const ca = count(a), cb = count(b);
  const removed = [...ca].flatMap(([k, n]) => Array<string>(Math.max(0, n - (cb.get(k) ?? 0))).fill(k));
  const added = [...cb].flatMap(([k, n]) => Array<string>(Math.max(0, n - (ca.get(k) ?? 0))).fill(k));
  return { removed, added };
}

describe("the benchmark's HIT-path variants of the master", async () => {
  const root = tempRoot("bench-variants");
  roots.push(root);
  const staged = await stageCluster(stackSpec("Pulumi.local.yaml"), root);
  const master = staged.plan.hosts[0]!.master;
  const original = renderMaster(master);
  const before = directives(original);
  const only = (d: string[], pattern: RegExp) => d.length > 0 && d.every((x) => pattern.test(x));

  const expected: Record<string, (diff: { removed: string[]; added: string[] }) => boolean> = {
    "unbuffered-log": ({ removed, added }) =>
      only(removed, new RegExp(`^access_log \\S+ ${NGINX_NAMES.logFormat} buffer=64k flush=1s$`)) && only(added, new RegExp(`^access_log \\S+ ${NGINX_NAMES.logFormat}$`)) && removed.length === added.length,
    "no-open-file-cache": ({ removed, added }) => only(removed, /^open_file_cache max=\d+$/) && added.length === 0,
    "no-status-header": ({ removed, added }) => only(removed, /^add_header X-Cache-Status \$upstream_cache_status always$/) && added.length === 0,
    "request-id-replayed": ({ removed, added }) => only(removed, /^proxy_hide_header X-Request-Id$/) && added.length === 0,
    "no-pcre-jit": ({ removed, added }) => removed.length === 1 && removed[0] === "pcre_jit on" && added.length === 0,
  };

  it("one expectation per variant", () => assert.deepEqual(HIT_VARIANTS.map((v) => v.id).sort(), Object.keys(expected).sort()));

  for (const variant of HIT_VARIANTS) {
    it(`${variant.id}: changes exactly its setting, and nginx loads it`, async () => {
      const text = print(variant.apply(masterConfig(master)));
      const diff = difference(before, directives(text));
      assert.ok(expected[variant.id]!(diff), `${variant.id}: ${JSON.stringify(diff)}`);
      writeFileSync(master.paths.config, text);
      await assertNginxAccepts(master.paths.config, staged.instances.find((i) => i.role === "master")!.prefix, variant.id);
      writeFileSync(master.paths.config, original);
    });
  }

  it("the variants touch the cached resize locations (the HIT path) where they apply", () => {
    const conf = parseConf(original);
    assert.ok(deep(conf, "open_file_cache").length >= 2 && deep(conf, "proxy_hide_header").length >= 2);
  });
});
