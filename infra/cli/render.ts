// npm run render -- --stack <name> --out <dir>
// Reads Pulumi.<name>.yaml directly (no Pulumi CLI, no secrets), validates it and writes
// every generated file. On an invalid config nothing is written and the exit code is 1.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "../config.js";
import { renderCluster } from "../render.js";
import { specFromStackYaml, stackFileName } from "../stack.js";
import { planCluster } from "../topology.js";

const USAGE = "usage: npm run render -- --stack <name> --out <dir> [--config-dir <dir with Pulumi.<name>.yaml>]";
const projectRoot = resolve(__dirname, "../..");

function fail(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function main(): void {
  let args;
  try {
    args = parseArgs({ options: { stack: { type: "string" }, out: { type: "string" }, "config-dir": { type: "string" }, help: { type: "boolean" } }, strict: true }).values;
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`, 2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!args.stack || !args.out) fail(USAGE, 2);

  let files;
  try {
    const file = stackFileName(args.stack);
    const configDir = resolve(args["config-dir"] ?? projectRoot);
    const path = join(configDir, file);
    if (!existsSync(path)) throw new ConfigError([`${file}: no such stack file in ${configDir}`]);
    files = renderCluster(planCluster(specFromStackYaml(readFileSync(path, "utf8"), file)));
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }

  // Write next to the destination, then swap, so a reviewer never sees a half-written
  // tree or stale files of a host that no longer exists.
  const out = resolve(args.out);
  if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, "plan.json"))) {
    fail(`refusing to replace ${out}: it is not empty and holds no earlier render (plan.json)`);
  }
  const staging = `${out}.render-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  for (const f of files) {
    mkdirSync(dirname(join(staging, f.path)), { recursive: true });
    writeFileSync(join(staging, f.path), f.content);
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(dirname(out), { recursive: true });
  renameSync(staging, out);
  process.stdout.write(`rendered ${files.length} files for stack ${args.stack} into ${out}\n`);
}

main();
