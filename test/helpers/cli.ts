// Run the project's command-line entry points the way an operator does (through tsx).
import { spawnSync } from "node:child_process";
import { join } from "node:path";

export const projectRoot = join(__dirname, "../..");
const tsx = join(projectRoot, "node_modules/.bin/tsx");

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(script: string, args: string[], opts: { timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(tsx, [join(projectRoot, script), ...args], {
    cwd: projectRoot,
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
