// Runs a Pulumi program under the runtime's mocks with the lifecycle model (engine.ts)
// answering every registration the way the engine and the providers would: ids change
// where a resource is replaced, and in a preview every output the providers cannot know
// yet is unknown, so the program's own applies carry unknowns to exactly the inputs a real
// preview shows as unknown. Not pure: it drives @pulumi/pulumi's runtime.
//
// Several runs share a process (the model answers each registration as it arrives, which a
// child process per run could not do cheaply): the program's entry module is evicted from
// the require cache and loaded again after config and mocks are reset. A run is over when
// the runtime has no registration in flight and none arrives after every pending callback
// has run: the mocks answer through promises only, so nothing can come later unless the
// program itself waits on a timer or I/O, which it does not.
import * as pulumi from "@pulumi/pulumi";
import { Deployment, type Goal, type StateEntry, type Step } from "./engine.js";
import { PLAIN_DAEMON, type DaemonDefaults } from "./readBack.js";
import { registration } from "./request.js";

export const PROJECT = "image-origin";
const STACK = "lifecycle";

export interface SimulateOptions {
  /** The program's entry module (a tree's `infra/index.ts`). */
  program: string;
  /** `image-origin:<key>` -> value, as the engine passes stack config. */
  config: Record<string, unknown>;
  secretKeys?: string[];
  /** The state the previous `up` left ([] for the first `up`). */
  state: StateEntry[];
  preview?: boolean;
  daemon?: DaemonDefaults;
  /** What providers compute on create (image ids, keys, certificates): standIns.ts. */
  computed: (goal: Goal) => Record<string, unknown>;
  /**
   * Text replaced in every registration's inputs before anyone sees them: what the program
   * would have computed from a changed file (e.g. the resizer's content hash).
   */
  rewrite?: [from: string, to: string][];
  /** A change to what the program registers (the tests' mutations: a fix undone). */
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

// @internal in @pulumi/pulumi (runtime/settings.js), exported from runtime: resolves once no
// registration or invoke is in flight.
const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs;
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

let running = false;

export async function simulate(opts: SimulateOptions): Promise<Simulation> {
  if (running) throw new Error("one simulation at a time per process (the runtime's mocks are global)");
  running = true;
  try {
    return await run(opts);
  } finally {
    running = false;
  }
}

async function run(opts: SimulateOptions): Promise<Simulation> {
  const encoded = Object.fromEntries(Object.entries(opts.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  pulumi.runtime.setAllConfig(encoded, opts.secretKeys ?? []);
  const deployment = new Deployment(opts.state, { preview: opts.preview === true, daemon: opts.daemon ?? PLAIN_DAEMON }, opts.computed);
  const answers = new Map<string, { id: string; outputs: Record<string, unknown> }>();
  const goals: Goal[] = [];
  let failure: Error | undefined;
  const fail = (err: unknown) => (failure ??= err instanceof Error ? err : new Error(String(err)));

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
        replaceOnChanges: r.replaceOnChanges,
        retainOnDelete: r.retainOnDelete,
      };
      if (opts.patch) goal = opts.patch(goal);
      const key = `${goal.type}::${goal.name}`;
      if (answers.has(key)) throw new Error(`two resources of type ${goal.type} named ${goal.name}: the model keys answers by type and name`);
      answers.set(key, deployment.register(goal));
      goals.push(goal);
    } catch (err) {
      fail(err);
    }
    original(req, cb);
  };

  const onRejection = (err: unknown) => fail(err);
  process.on("unhandledRejection", onRejection);
  // The runtime records a stack trace for every promise and resource (runtime/debuggable.js,
  // resource.js sourcePosition); through source maps that is most of a run's time, and
  // nothing here reads them.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    delete require.cache[require.resolve(opts.program)];
    require(opts.program);
    for (let seen = -1; seen !== goals.length; ) {
      seen = goals.length;
      await waitForRPCs();
      await nextTurn();
    }
  } catch (err) {
    fail(err);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    process.off("unhandledRejection", onRejection);
  }
  const { steps, state } = deployment.finish();
  return { steps, state, goals, ...(failure && { error: failure.message }) };
}
