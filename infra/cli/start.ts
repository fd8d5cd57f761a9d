// npm start: until the local cluster launcher lands, validate the local stack and print
// the plan of what it would run.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError } from "../config.js";
import { specFromStackYaml, stackFileName } from "../stack.js";
import { planCluster } from "../topology.js";

const projectRoot = resolve(__dirname, "../..");
const file = stackFileName("local");
try {
  const plan = planCluster(specFromStackYaml(readFileSync(join(projectRoot, file), "utf8"), file));
  for (const host of plan.hosts) {
    process.stdout.write(`host ${host.name} (${host.address}, docker ${host.docker})\n`);
    const publish = host.master.publish;
    process.stdout.write(`  ${host.master.name}: publishes http ${publish?.http}${publish?.https ? `, https ${publish.https}` : ""}\n`);
    for (const s of host.slaves) process.stdout.write(`  ${s.name}: port ${s.listen.port}\n`);
    for (const r of host.resizers) process.stdout.write(`  ${r.name}: port ${r.listen.port}\n`);
  }
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
