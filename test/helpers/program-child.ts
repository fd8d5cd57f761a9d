// One mocked program run in a process of its own (see runProgram in pulumi.ts): config
// JSON on stdin; the run, as JSON, to the file named by argv[2] once the event loop is empty.
import { readFileSync } from "node:fs";
import { runProgramInThisProcess } from "./pulumi.js";

const { config, secretKeys } = JSON.parse(readFileSync(0, "utf8")) as { config: Record<string, unknown>; secretKeys: string[] };
runProgramInThisProcess(config, secretKeys, process.argv[2]!);
