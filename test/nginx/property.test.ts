// Property: any config the schema accepts renders configs that nginx loads without a
// warning. Random valid stack configs (seeded; the seed is in the test names, and
// PROPERTY_SEED=<n> replays a run, PROPERTY_CASES=<n> changes its size) go through the real
// schema, the planner with the local target, the renderers and `nginx -t`.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { after, describe, it } from "node:test";
import { assertNginxAccepts } from "../helpers/nginx.js";
import { all, parseConf } from "../helpers/nginx-conf.js";
import { caseSeed, randomValidSpec, Rng, runSeed } from "../helpers/random-spec.js";
import { stageCluster, tempRoot } from "../helpers/stage.js";

const seed = runSeed();
const cases = Number(process.env.PROPERTY_CASES ?? 30);
const roots: string[] = [];
after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/** Whether ::1 can be bound here (then some cases listen on IPv6 loopback). */
const ipv6 = new Promise<boolean>((resolve) => {
  const s = createServer();
  s.once("error", () => resolve(false));
  s.listen(0, "::1", () => s.close(() => resolve(true)));
});

describe(`random valid configs render configs nginx accepts (PROPERTY_SEED=${seed}, ${cases} cases)`, () => {
  for (let i = 0; i < cases; i++) {
    const s = caseSeed(seed, i);
    it(`case ${i} (case seed ${s})`, async () => {
      const rng = new Rng(s);
      const { input, spec } = randomValidSpec(rng);
      const bindAddress = rng.bool(0.3) && (await ipv6) ? "::1" : "127.0.0.1";
      const root = tempRoot(`property-${i}`);
      roots.push(root);
      const staged = await stageCluster(spec, root, { bindAddress });

      for (const inst of staged.instances) {
        const text = staged.files.find((f) => f.path === inst.conf)!.content;
        // The printer and the independent reader agree on every statement.
        const parsed = parseConf(text);
        assert.equal(all(parsed, "http").length, 1);
        try {
          await assertNginxAccepts(inst.conf, inst.prefix, `${inst.name} (case ${i})`);
        } catch (err) {
          throw new Error(`${(err as Error).message}\n\nReplay: PROPERTY_SEED=${seed} (case ${i}). Config:\n${JSON.stringify(input, null, 2)}`);
        }
      }
    });
  }
});
