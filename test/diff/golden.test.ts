// Golden tests of `npm run diff` output on pairs of fixture stacks (test/fixtures/diff/):
// `base.yaml` against each case's `head.yaml`, rendered as `npm run render` renders them,
// printed as text and as the PR comment. A change in rendering or in the diff's layout
// shows here as a golden difference to review; regenerate on purpose with
//   UPDATE_GOLDEN=1 node --import tsx --test test/diff/golden.test.ts
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { diffStacks, type Tree } from "../../infra/diff/diff.js";
import { formatMarkdown, formatText } from "../../infra/diff/format.js";
import { renderCluster } from "../../infra/render.js";
import { specFromStackYaml } from "../../infra/stack.js";
import { planCluster } from "../../infra/topology.js";
import { projectRoot } from "../helpers/cli.js";

const dir = join(projectRoot, "test/fixtures/diff");
const update = process.env.UPDATE_GOLDEN === "1";
const sides = { base: "main (0123456789ab)", head: "working tree" };

function rendered(file: string): Tree {
  return new Map(renderCluster(planCluster(specFromStackYaml(readFileSync(file, "utf8"), file))).map((f) => [f.path, f.content]));
}

function golden(file: string, actual: string): void {
  if (update || !existsSync(file)) {
    if (!update) assert.fail(`no golden file ${file}: run with UPDATE_GOLDEN=1 and review it`);
    writeFileSync(file, actual);
    return;
  }
  assert.equal(actual, readFileSync(file, "utf8"), `${file} differs (UPDATE_GOLDEN=1 regenerates it)`);
}

/** What each case must show, beyond matching its golden files. */
const expectations: Record<string, { changed: boolean; check?: (text: string) => void }> = {
  "slave-weight": { changed: true, check: (t) => assert.match(t, /reload:\s+master on img01–img03 \(master.conf changed\)/) },
  "https-port": { changed: true, check: (t) => assert.match(t, /restart: master on img01–img03 \(plan.json: publish changed\)/) },
  "host-added": { changed: true, check: (t) => assert.match(t, /added img04.*\n[^]*create:\s+master on img04 \(new host\)/) },
  "resizer-replicas": { changed: true, check: (t) => assert.match(t, /create:\s+resizer03 on img01–img03 \(new container\)/) },
  "comment-only": { changed: false, check: (t) => assert.match(t, /stack prod: no change/) },
  "one-host": { changed: true, check: (t) => assert.match(t, /1 of 3 hosts touched \(img02\)/) },
};

describe("golden diffs of fixture stack pairs", () => {
  const cases = readdirSync(dir).filter((d) => statSync(join(dir, d)).isDirectory()).sort();

  test("every case has its expectations (and every expectation a case)", () => {
    assert.deepEqual(cases, Object.keys(expectations).sort());
  });

  for (const name of cases) {
    test(name, () => {
      const caseDir = join(dir, name);
      const base = existsSync(join(caseDir, "base.yaml")) ? join(caseDir, "base.yaml") : join(dir, "base.yaml");
      const report = diffStacks([{ stack: "prod", base: rendered(base), head: rendered(join(caseDir, "head.yaml")) }]);
      const text = formatText(report, sides);
      assert.equal(report.changed, expectations[name]!.changed);
      expectations[name]!.check?.(text);
      golden(join(caseDir, "expected.txt"), text);
      golden(join(caseDir, "expected.md"), formatMarkdown(report, sides));
    });
  }
});
