// What a program tells the engine about one resource, read off the SDK's RegisterResource
// request: inputs (secrets revealed, their paths listed), parent, provider, dependencies per
// property and in all, replacement options, aliases. Shared by the mocked program runs of the
// tests (test/helpers/pulumi.ts) and the lifecycle model's runs (simulate.ts). No Pulumi import:
// it only reads the request object it is given.

export interface Registered {
  type: string;
  name: string;
  urn: string;
  custom: boolean;
  /** Inputs with secrets revealed (see `secretPaths` for which ones were secret). */
  inputs: Record<string, any>;
  /** Dotted paths of inputs sent as secrets, e.g. `uploads.1.content`. */
  secretPaths: string[];
  /** `urn::id` of the provider reference, as the engine receives it. */
  provider: string;
  parent: string;
  /** URNs this resource waits for: explicit dependsOn plus input-implied dependencies. */
  dependencies: string[];
  deleteBeforeReplace: boolean;
  /** Whether the program set `deleteBeforeReplace` at all (unset: the provider decides). */
  deleteBeforeReplaceDefined: boolean;
  retainOnDelete: boolean;
  /** Per input property, the URNs its value was computed from (what the engine's replacement cascade follows). */
  propertyDependencies: Record<string, string[]>;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  /** What the provider (or its stand-in) returned for it, secrets revealed: the program reads these. */
  state: Record<string, any>;
  /** Earlier identities the resource claims (`aliases`), as the monitor receives them. */
  aliases: AliasRequest[];
}

/**
 * One alias as the SDK sends it to the monitor. The mock monitor says it supports alias
 * specs (@pulumi/pulumi 3.248 runtime/mocks.js `setMocks`: `supportsAliasSpecs = true`), so
 * runtime/resource.js `mapAliasesForRequest` sends each alias either as a URN or as a spec
 * whose unset fields the engine fills in from the resource (see test/helpers/graph.ts).
 */
export type AliasRequest =
  | { urn: string }
  | { spec: { name: string; type: string; stack: string; project: string; parentUrn?: string; noParent: boolean } };

// The SDK's wire marker for a secret value.
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** `value` with every secret unwrapped; the dotted path of each secret is pushed to `secrets`. */
export function reveal(value: unknown, path: string, secrets: string[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => reveal(v, path ? `${path}.${i}` : String(i), secrets));
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SIG_KEY] === SECRET_SIG) {
      secrets.push(path);
      return reveal(obj.value, path, []);
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, reveal(v, path ? `${path}.${k}` : k, secrets)]));
  }
  return value;
}

/** One RegisterResource request (`req`, the SDK's protobuf message) and what was answered (`state`). */
export function registration(req: any, urn: string, state: Record<string, unknown>): Registered {
  const secretPaths: string[] = [];
  const inputs = reveal(req.getObject()?.toJavaScript() ?? {}, "", secretPaths) as Record<string, any>;
  const propertyDependencies: Record<string, string[]> = {};
  for (const [key, deps] of req.getPropertydependenciesMap().entries()) propertyDependencies[key] = deps.getUrnsList();
  return {
    type: req.getType(),
    name: req.getName(),
    urn,
    custom: req.getCustom(),
    inputs,
    secretPaths,
    provider: req.getProvider(),
    parent: req.getParent(),
    dependencies: req.getDependenciesList(),
    deleteBeforeReplace: req.getDeletebeforereplace(),
    deleteBeforeReplaceDefined: req.getDeletebeforereplacedefined(),
    retainOnDelete: req.getRetainondelete(),
    propertyDependencies,
    ignoreChanges: req.getIgnorechangesList(),
    replaceOnChanges: req.getReplaceonchangesList(),
    state: reveal(state, "", []) as Record<string, any>,
    aliases: (req.getAliasesList() as any[]).map((a): AliasRequest => {
      if (!a.hasSpec()) return { urn: a.getUrn() };
      const spec = a.getSpec();
      return {
        spec: {
          name: spec.getName(),
          type: spec.getType(),
          stack: spec.getStack(),
          project: spec.getProject(),
          ...(spec.hasParenturn() && { parentUrn: spec.getParenturn() }),
          noParent: spec.getNoparent(),
        },
      };
    }),
  };
}
