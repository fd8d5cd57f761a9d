// The policy pack's rules fed the way the analyzer feeds them: for every resource of a
// mocked program run, the arguments @pulumi/policy builds from the engine's AnalyzeRequest
// (type, inputs as props, urn, name, resource options, provider), with the secret inputs
// recorded as the pack's entry point records them.
import type { PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { contextFromStackConfig, markSecretPaths, policies, type PolicyContext } from "../../policy/rules.js";
import type { ProgramRun, Registered } from "./pulumi.js";

/** The stack's hosts as the pack reads them from the stack config. */
export function contextOf(config: Record<string, unknown>): PolicyContext {
  // As the engine passes it: every value as text (objects as JSON).
  const encoded = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  return contextFromStackConfig(encoded);
}

function optionsOf(r: Registered): PolicyResourceOptions {
  return {
    protect: false,
    ignoreChanges: [],
    deleteBeforeReplace: r.deleteBeforeReplace,
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
    ...(r.parent && { parent: r.parent }),
  };
}

/** What a rule receives for one resource of the graph. */
export function analyzerArgs(r: Registered, run?: ProgramRun): ResourceValidationArgs {
  // A fresh copy: the analyzer deserializes each request on its own.
  const props = structuredClone(r.inputs);
  markSecretPaths(props, r.secretPaths);
  const providerUrn = r.provider.split("::").slice(0, -1).join("::");
  const provider = run?.resources.find((p) => p.urn === providerUrn);
  return {
    type: r.type,
    props,
    urn: r.urn,
    name: r.name,
    opts: optionsOf(r),
    ...(provider && { provider: { type: provider.type, props: provider.inputs, urn: provider.urn, name: provider.name } }),
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason?: string): never => {
      throw new Error(`not applicable: ${reason}`);
    },
  };
}

/** Violations one policy reports for one resource. */
export function violationsOf(policy: ResourceValidationPolicy, args: ResourceValidationArgs): string[] {
  const found: string[] = [];
  const validate = policy.validateResource as (a: ResourceValidationArgs, report: (m: string) => void) => void;
  validate(args, (message) => found.push(message));
  return found;
}

/** Every violation of every rule over a whole graph, as `rule: resource: message`. */
export function graphViolations(run: ProgramRun, ctx: PolicyContext): string[] {
  const out: string[] = [];
  for (const policy of policies(ctx)) {
    for (const r of run.resources) {
      for (const m of violationsOf(policy, analyzerArgs(r, run))) out.push(`${policy.name}: ${r.name}: ${m}`);
    }
  }
  return out;
}
