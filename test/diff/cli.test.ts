// `npm run diff` end to end, in a scratch git repository holding a copy of this working
// tree: the base is rendered from git with its own program and stack files, the working
// tree is never checked out or changed, and the exit status says same / changed / error.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { COMMENT_MARKER } from "../../infra/diff/format.js";
import { projectRoot } from "../helpers/cli.js";

let repo: string;
const git = (...args: string[]) => execFileSync("git", ["-C", repo, ...args], { encoding: "utf8" });

before(() => {
  repo = mkdtempSync(join(tmpdir(), "diff-cli-"));
  // The working tree as it is (committed or not), without what git ignores.
  const files = execFileSync("git", ["-C", projectRoot, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], { encoding: "utf8" }).split("\0").filter(Boolean);
  for (const f of files) {
    if (!existsSync(join(projectRoot, f))) continue;
    mkdirSync(dirname(join(repo, f)), { recursive: true });
    copyFileSync(join(projectRoot, f), join(repo, f));
  }
  for (const d of [".", ...readdirSync(projectRoot)]) {
    if (existsSync(join(projectRoot, d, "node_modules")) && existsSync(join(repo, d)) && d !== "node_modules") symlinkSync(join(projectRoot, d, "node_modules"), join(repo, d, "node_modules"));
  }
  git("init", "-q", "-b", "main");
  git("-c", "user.email=t@example.com", "-c", "user.name=t", "add", "-A");
  git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "base");
});
after(() => rmSync(repo, { recursive: true, force: true }));

function diff(...args: string[]) {
  const r = spawnSync(join(projectRoot, "node_modules/.bin/tsx"), [join(repo, "infra/cli/diff.ts"), ...args], { cwd: repo, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function edit(file: string, change: (text: string) => string) {
  const path = join(repo, file);
  const before = readFileSync(path, "utf8");
  const after = change(before);
  assert.notEqual(after, before, `${file} unchanged by the edit`);
  writeFileSync(path, after);
  return () => writeFileSync(path, before);
}

const weight = (t: string) => t.replace("    - port: 8001\n      maxFails: 2\n", "    - port: 8001\n      weight: 3\n      maxFails: 2\n");

describe("npm run diff", () => {
  test("nothing changed: exit 0 and every stack says no change", () => {
    const r = diff("--base", "main");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^stack local: no change$/m);
    assert.match(r.stdout, /^stack prod: no change$/m);
  });

  test("a weight on slave01 in Pulumi.prod.yaml: exit 1, one hunk for img01–img05, and the working tree left as it was", () => {
    const restore = edit("Pulumi.prod.yaml", weight);
    try {
      const status = git("status", "--porcelain");
      const r = diff("--base", "main", "--stack", "prod");
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stdout, /^@@ -\d+,7 \+\d+,7 @@ img01–img05\n(?:.*\n)*?-\s+server 10\.213\.0\.11:8001 max_fails=2 fail_timeout=10s;\n\+\s+server 10\.213\.0\.11:8001 weight=3 max_fails=2 fail_timeout=10s;$/m);
      assert.match(r.stdout, /reload:\s+master on img01–img05/);
      // Both commits' programs ran under the lifecycle model, and the summary says so.
      assert.match(r.stdout, /^  restart: none$/m);
      assert.match(r.stdout, /note:\s+restart\/reload from the lifecycle model/);
      assert.doesNotMatch(r.stdout, /stack local/, "--stack prod diffs prod only");
      assert.equal(git("status", "--porcelain"), status, "no checkout, no file touched");
      assert.deepEqual(git("worktree", "list", "--porcelain").match(/^worktree /gm)?.length, 1);

      const md = diff("--base", "main", "--stack", "prod", "--format", "markdown");
      assert.equal(md.status, 1);
      assert.equal(md.stdout.split("\n")[0], COMMENT_MARKER);
      assert.match(md.stdout, /\| reload \| master on img01–img05 \| master.conf changed \|/);
    } finally {
      restore();
    }
  });

  test("the base renders with its own program, not the working tree's", () => {
    // A commit whose renderer words the configs' header differently; the working tree keeps
    // today's wording. Only the base's own code can produce the old line.
    const restore = edit("infra/nginx/common.ts", (t) => t.replace("rendered from the stack config by", "generated from the stack config by"));
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-am", "reword");
    restore();
    try {
      const r = diff("--base", "HEAD", "--stack", "local");
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stdout, /^-# local-slave01: nginx slave 01, generated from the stack config/m);
      assert.match(r.stdout, /^\+# local-slave01: nginx slave 01, rendered from the stack config/m);
    } finally {
      git("reset", "-q", "--hard", "main");
    }
  });

  test("a base whose program cannot run under the lifecycle model: the estimate answers, and says why", () => {
    const restore = edit("infra/index.ts", (t) => `throw new Error("this program predates the model");\n${t}`);
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-am", "unrunnable");
    restore();
    const undo = edit("Pulumi.prod.yaml", weight);
    try {
      const r = diff("--base", "HEAD", "--stack", "prod");
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stdout, /reload:\s+master on img01–img05 \(master.conf changed\)/);
      assert.match(r.stdout, /note:\s+restart\/reload estimated from the rendered files.*The lifecycle model could not answer: HEAD's or the working tree's program did not run under it \(base: this program predates the model\)/);
    } finally {
      undo();
      git("reset", "-q", "--hard", "main");
    }
  });

  test("a stack only the working tree has is new; --stack names one that exists", () => {
    writeFileSync(join(repo, "Pulumi.staging.yaml"), readFileSync(join(repo, "Pulumi.local.yaml"), "utf8"));
    try {
      const r = diff("--base", "main", "--stack", "staging");
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stdout, /^stack staging: new stack, 1 of 1 host touched \(local\)/m);
      const missing = diff("--base", "main", "--stack", "nosuch");
      assert.equal(missing.status, 2);
      assert.match(missing.stderr, /--stack nosuch: no Pulumi\.nosuch\.yaml in the working tree or at main/);
    } finally {
      rmSync(join(repo, "Pulumi.staging.yaml"));
    }
  });

  test("errors exit 2: an invalid working-tree config (with its problems), an unknown ref, a bad format", () => {
    const restore = edit("Pulumi.prod.yaml", (t) => t.replace("address: 172.18.141.53", "address: 172.18.141.999"));
    try {
      const r = diff("--base", "main", "--stack", "prod");
      assert.equal(r.status, 2);
      assert.match(r.stderr, /render of prod in the working tree failed:\ninvalid image-origin config \(1 problem\):\n\s+hosts\[2\]\.address: /);
      assert.equal(r.stdout, "");
    } finally {
      restore();
    }
    const ref = diff("--base", "no-such-branch");
    assert.equal(ref.status, 2);
    assert.match(ref.stderr, /--base no-such-branch: no such commit/);
    const format = diff("--base", "main", "--format", "html");
    assert.equal(format.status, 2);
    assert.match(format.stderr, /--format: "html" is not text or markdown/);
    assert.equal(diff().status, 2);
  });
});
