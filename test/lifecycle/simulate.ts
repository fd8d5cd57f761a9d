// Runs the real Pulumi program under mocks with the lifecycle model (engine.ts) answering
// every registration the way the engine and the providers would: ids change where a
// resource is replaced, and in a preview every output the providers cannot know yet is
// unknown, so the program's own applies propagate unknowns to exactly the inputs a real
// preview would show as unknown. Several runs fit in one process: the program's entry
// module is evicted from the require cache and loaded again (config and mocks are reset
// before each run).
import * as pulumi from "@pulumi/pulumi";
import { Deployment, type Goal, type StateEntry, type Step } from "./engine.js";
import { PLAIN_DAEMON, type DaemonDefaults } from "./normalise.js";
import { IMAGE } from "./provider-facts.js";
import { PROJECT, mockState, registration } from "../helpers/pulumi.js";

const STACK = "test";
const PROGRAM = require.resolve("../../infra/index.ts");

export interface SimulateOptions {
  /** `image-origin:<key>` -> value, as the engine passes stack config. */
  config: Record<string, unknown>;
  secretKeys?: string[];
  /** The state the previous `up` left ([] for the first `up`). */
  state: StateEntry[];
  preview?: boolean;
  daemon?: DaemonDefaults;
  /**
   * Text replaced in every registration's inputs before anyone sees them: what the program
   * would have computed from a changed file (e.g. the resizer's content hash).
   */
  rewrite?: [from: string, to: string][];
  /** docker.Image's build.contextDigest, which the provider's Check adds from the files of the context. */
  contextDigest?: string;
  /** A change to what the program registers (guards: the shape a fix gives, or a regression). */
  patch?: (goal: Goal) => Goal;
}

export interface Simulation {
  steps: Step[];
  /** State after this `up` (a preview leaves the old state; this is what it would be). */
  state: StateEntry[];
  /** Goals in registration order, inputs as the engine received them (unknowns as UNKNOWN). */
  goals: Goal[];
  error?: string;
}

function mockUrn(parent: string, type: string, name: string): string {
  // As pulumi's MockMonitor.newUrn does.
  const qualified = parent ? `${parent.split("::")[2]!.split("$").pop()}$${type}` : type;
  return `urn:pulumi:${STACK}::${PROJECT}::${qualified}::${name}`;
}

function rewriteValue(value: unknown, pairs: [string, string][]): unknown {
  if (typeof value === "string") return pairs.reduce((s, [from, to]) => s.split(from).join(to), value);
  if (Array.isArray(value)) return value.map((v) => rewriteValue(v, pairs));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewriteValue(v, pairs)]));
  return value;
}

export async function simulate(opts: SimulateOptions): Promise<Simulation> {
  const encoded = Object.fromEntries(Object.entries(opts.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  pulumi.runtime.setAllConfig(encoded, opts.secretKeys ?? []);
  const deployment = new Deployment(opts.state, { preview: opts.preview === true, daemon: opts.daemon ?? PLAIN_DAEMON }, (goal) =>
    mockState({ type: goal.type, name: goal.name, inputs: goal.inputs, provider: goal.provider, custom: goal.custom } as pulumi.runtime.MockResourceArgs),
  );
  const answers = new Map<string, { id: string; outputs: Record<string, unknown> }>();
  const goals: Goal[] = [];
  let failure: Error | undefined;

  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const answer = answers.get(`${args.type}::${args.name}`);
        if (answer === undefined) throw new Error(`no engine answer for ${args.type} ${args.name}`);
        return { id: answer.id, state: answer.outputs };
      },
      call: (args) => args.inputs,
    },
    PROJECT,
    STACK,
    opts.preview === true,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: any, cb: (err: unknown, res: any) => void) => void };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    try {
      if (opts.rewrite?.length) {
        const { Struct } = require("google-protobuf/google/protobuf/struct_pb.js") as { Struct: { fromJavaScript(v: unknown): unknown } };
        req.setObject(Struct.fromJavaScript(rewriteValue(req.getObject()?.toJavaScript() ?? {}, opts.rewrite) as Record<string, unknown>));
      }
      const urn = mockUrn(req.getParent(), req.getType(), req.getName());
      const r = registration(req, urn, {});
      let goal: Goal = {
        urn,
        type: r.type,
        name: r.name,
        custom: r.custom,
        provider: r.provider,
        parent: r.parent,
        inputs: r.inputs,
        dependencies: r.dependencies,
        propertyDependencies: r.propertyDependencies,
        deleteBeforeReplace: r.deleteBeforeReplace,
        deleteBeforeReplaceDefined: r.deleteBeforeReplaceDefined,
        ignoreChanges: r.ignoreChanges,
        retainOnDelete: r.retainOnDelete,
      };
      if (goal.type === IMAGE && opts.contextDigest !== undefined) {
        goal.inputs = { ...goal.inputs, build: { ...(goal.inputs.build as object), contextDigest: opts.contextDigest } };
      }
      if (opts.patch) goal = opts.patch(goal);
      const key = `${goal.type}::${goal.name}`;
      if (answers.has(key)) throw new Error(`two resources of type ${goal.type} named ${goal.name}: the model keys answers by type and name`);
      const answer = deployment.register(goal);
      answers.set(key, answer);
      goals.push(goal);
    } catch (err) {
      failure ??= err as Error;
    }
    original(req, cb);
  };

  delete require.cache[PROGRAM];
  try {
    require(PROGRAM);
  } catch (err) {
    failure ??= err as Error;
  }
  // Registrations arrive as their dependencies resolve; wait until none has come for a while.
  for (let stable = 0, last = -1; stable < 5; ) {
    await new Promise((r) => setTimeout(r, 25));
    if (goals.length === last) stable++;
    else {
      stable = 0;
      last = goals.length;
    }
  }
  const { steps, state } = deployment.finish();
  return { steps, state, goals, ...(failure && { error: failure.message }) };
}

/** `up` from nothing, then `up` of the same program: the state an operator has after deploying. */
export async function stateAfterUp(opts: Omit<SimulateOptions, "state" | "preview">): Promise<StateEntry[]> {
  const run = await simulate({ ...opts, state: [] });
  if (run.error) throw new Error(run.error);
  return run.state;
}
