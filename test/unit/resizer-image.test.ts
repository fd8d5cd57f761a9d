import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { PROGRAM_DIR, RESIZER_BUILD, buildContextHash, copySources, resizerImageRef } from "../../infra/components/resizerImage.js";
import { projectRoot } from "../helpers/cli.js";
import { readIgnoreFile, sentInContext } from "../helpers/dockerignore.js";

test("the resizer image tag covers exactly what its Dockerfile copies from the context", () => {
  const sources = copySources(readFileSync(join(projectRoot, "resizer/Dockerfile"), "utf8"));
  assert.deepEqual(sources, ["package-lock.json", "package.json", "resizer/package.json", "resizer/src", "resizer/tsconfig.build.json", "tsconfig.json"]);
  assert.ok(!sources.some((s) => s.endsWith(".md")), "documentation never retags the image");
  assert.match(buildContextHash(projectRoot), /^[0-9a-f]{16}$/);
});

test("stage copies (--from) are not context inputs", () => {
  assert.deepEqual(copySources("FROM a AS b\nCOPY x.json y/ ./\nCOPY --from=b /app/dist dist\nCOPY --chown=1000 z z\n"), ["x.json", "y", "z"]);
});

test(".dockerignore sends exactly what resizer/Dockerfile copies: no stack file, script, CI file or doc reaches the build", () => {
  const tracked = execFileSync("git", ["-C", projectRoot, "ls-files"], { encoding: "utf8" }).trim().split("\n");
  const copied = copySources(readFileSync(join(projectRoot, "resizer/Dockerfile"), "utf8"));
  const isCopied = (f: string) => copied.some((s) => f === s || f.startsWith(`${s}/`));
  const patterns = readIgnoreFile(join(projectRoot, ".dockerignore"));
  // The CLI always sends the Dockerfile and .dockerignore themselves.
  const sent = tracked.filter((f) => sentInContext(f, patterns) && f !== "resizer/Dockerfile" && f !== ".dockerignore");
  assert.deepEqual(sent, tracked.filter(isCopied));
  for (const other of ["Pulumi.prod.yaml", "scripts/setup.sh", ".github/workflows/pr.yml", "README.md", "infra/program.ts"]) {
    assert.ok(tracked.includes(other) && !sentInContext(other, patterns), other);
  }
  // Built output and installed packages never travel, wherever they are.
  for (const f of ["resizer/dist/main.js", "resizer/node_modules/sharp/package.json", "node_modules/x/index.js"]) assert.equal(sentInContext(f, patterns), false, f);
});

test("the ignore rules as the CLI applies them: the last pattern that applies wins, parents match, exceptions take files back", () => {
  assert.equal(sentInContext("a/b/c.ts", ["*"]), false);
  assert.equal(sentInContext("a/b/c.ts", ["*", "!a/b"]), true);
  assert.equal(sentInContext("a/b/c.ts", ["*", "!a/b", "**/b"]), false);
  assert.equal(sentInContext("a/x.md", ["*.md"]), true, "* stays in its segment");
  assert.equal(sentInContext("a/x.md", ["**/*.md"]), false);
  assert.equal(sentInContext("x.md", ["**/*.md"]), false);
});

test("the resizer is built from the checkout, with paths relative to the program's directory (where the engine runs commands)", () => {
  const main = /^main:\s*(\S+)\s*$/m.exec(readFileSync(join(projectRoot, "Pulumi.yaml"), "utf8"))?.[1];
  assert.equal(main?.replace(/\/$/, ""), PROGRAM_DIR);
  const programDir = join(projectRoot, PROGRAM_DIR);
  assert.equal(resolve(programDir, RESIZER_BUILD.context), projectRoot);
  assert.equal(resolve(programDir, RESIZER_BUILD.dockerfile), join(projectRoot, "resizer/Dockerfile"));
  assert.equal(resizerImageRef(projectRoot), `image-origin/resizer:${buildContextHash(projectRoot)}`);
});
