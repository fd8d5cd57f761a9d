// `runProgram` in a process of its own: the program module runs once per process, so a
// test that needs a second run (a changed config) gets it here. Config JSON on stdin;
// the run's resources, as JSON, to the file named by argv[2].
import { readFileSync, writeFileSync } from "node:fs";
import { runProgram } from "./pulumi.js";

const out = process.argv[2]!;
const { config, secretKeys } = JSON.parse(readFileSync(0, "utf8")) as { config: Record<string, unknown>; secretKeys: string[] };
void runProgram(config, secretKeys).then((run) => {
  writeFileSync(out, JSON.stringify({ resources: run.resources, error: run.error?.message }));
  process.exit(0);
});
