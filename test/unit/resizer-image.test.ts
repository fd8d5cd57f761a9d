import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { buildContextHash, copySources } from "../../infra/components/resizerImage.js";
import { projectRoot } from "../helpers/cli.js";

test("the resizer image tag covers exactly what its Dockerfile copies from the context", () => {
  const sources = copySources(readFileSync(join(projectRoot, "resizer/Dockerfile"), "utf8"));
  assert.deepEqual(sources, ["package-lock.json", "package.json", "resizer/package.json", "resizer/src", "resizer/tsconfig.build.json", "tsconfig.json"]);
  assert.ok(!sources.some((s) => s.endsWith(".md")), "documentation never retags the image");
  assert.match(buildContextHash(projectRoot), /^[0-9a-f]{16}$/);
});

test("stage copies (--from) are not context inputs", () => {
  assert.deepEqual(copySources("FROM a AS b\nCOPY x.json y/ ./\nCOPY --from=b /app/dist dist\nCOPY --chown=1000 z z\n"), ["x.json", "y", "z"]);
});
