// What `pulumi up` of the head commit's program would do to containers after `up` of the
// base commit's program, from the lifecycle model: the base tree's program deployed from
// nothing, then the head tree's program against that state. npm run diff runs this in a
// process of its own per stack (infra/cli/diff.ts):
//
//   node --import tsx infra/lifecycle/classify.ts < {"base": {...}, "head": {...}}
//
// where each side is `{ "root": <tree>, "stackFile": "Pulumi.<stack>.yaml" }`; it prints the
// container effects as JSON, or exits 1 with the reason the model could not answer.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseStackYaml } from "../stack.js";
import { containerEffects, type ContainerEffects } from "./effects.js";
import type { Goal } from "./engine.js";
import { simulate } from "./simulate.js";
import { standInOutputs, withStandInSecrets } from "./standIns.js";

export interface Side {
  /** The tree whose `infra/index.ts` is the program and whose stack file is read. */
  root: string;
  stackFile: string;
}

/** Where a run failed: the side, and what it said. */
export class ModelError extends Error {}

const computed = (goal: Goal) => standInOutputs(goal.type, goal.name, goal.inputs);

/** The effects of `up` of `head` on the state `up` of `base` left. */
export async function modelEffects(base: Side, head: Side): Promise<ContainerEffects> {
  const pairs = new Map<string, { certificatePem: string; privateKeyPem: string }>();
  const side = (s: Side) => ({ program: join(s.root, "infra/index.ts"), ...withStandInSecrets(parseStackYaml(readFileSync(join(s.root, s.stackFile), "utf8"), s.stackFile), pairs) });
  const before = side(base);
  const deployed = await simulate({ ...before, state: [], computed });
  if (deployed.error) throw new ModelError(`base: ${deployed.error}`);
  const after = side(head);
  const up = await simulate({ ...after, state: deployed.state, computed });
  if (up.error) throw new ModelError(`working tree: ${up.error}`);
  return containerEffects(up.steps, up.goals, deployed.state);
}

if (require.main === module) {
  const { base, head } = JSON.parse(readFileSync(0, "utf8")) as { base: Side; head: Side };
  modelEffects(base, head).then(
    (effects) => {
      process.stdout.write(JSON.stringify(effects));
      process.exit(0);
    },
    (err: Error) => {
      process.stderr.write(`${err.message.split("\n")[0]}\n`);
      process.exit(1);
    },
  );
}
