// The resource graph a stack registers, as a reviewed fixture: URN, type, parent, provider,
// dependencies, replacement options, which inputs are secret, and the inputs themselves,
// with what differs from run to run (key material, the resizer image's content hash)
// replaced by placeholders. A refactor must register the same graph: every old URN is still
// there, or a new resource names it as an alias; inputs are identical.
//
//   npm run fixtures:graph     rewrites test/fixtures/graph/*.json from the current program
//
// A deliberate change to inputs then shows as a diff of those files in review.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildContextHash, RESIZER_REPOSITORY } from "../../infra/components/resizerImage.js";
import { VIP_REPOSITORY, vipImageRef } from "../../infra/components/vipImage.js";
import { CONTAINER } from "../../infra/topology.js";
import { projectRoot } from "./cli.js";
import { mockImageId, prodWithHaproxy, prodWithSuppliedCertificate, runProgram, stackConfig, type AliasRequest, type ProgramRun, type Registered } from "./pulumi.js";

export const FIXTURE_DIR = join(projectRoot, "test/fixtures/graph");

/** The stacks whose graph is pinned: the stack files, and the acme variants of the mock tests. */
export const SCENARIOS: Record<string, () => { config: Record<string, unknown>; secretKeys: string[] }> = {
  // prod as an operator runs it (a real chain and its key instead of the placeholder).
  prod: () => {
    const { config, secretKeys } = prodWithSuppliedCertificate();
    return { config, secretKeys };
  },
  // prod pulling its images from a registry instead of receiving them from the operator.
  "prod-registry": () => {
    const { config, secretKeys } = prodWithSuppliedCertificate();
    config["image-origin:images"] = { resizer: "registry.example.com/image-origin/resizer:1.0.0" };
    return { config, secretKeys };
  },
  // test/mocks/vip-haproxy.test.ts: prod behind the software VIP (HAProxy + keepalived on two L4 hosts).
  "prod-haproxy": () => {
    const { config, secretKeys } = prodWithHaproxy();
    return { config, secretKeys };
  },
  local: () => ({ config: stackConfig("local"), secretKeys: [] }),
  // test/mocks/acme.test.ts: prod with Let's Encrypt over http-01 (an issuer, four followers).
  acme: () => {
    const config = stackConfig("prod");
    config["image-origin:certificates"] = { "star-tving": { mode: "acme", email: "ops@tving.com", renewBeforeDays: 30 } };
    delete config["image-origin:tlsPrivateKeys"];
    return { config, secretKeys: [] };
  },
  // test/mocks/acme-dns.test.ts: a wildcard over dns-01 with the plugin's credentials.
  "acme-dns": () => {
    const config = stackConfig("prod");
    config["image-origin:domains"] = [
      { id: "image-origin", serverNames: ["image-origin.tving.com", "*.img.tving.com"], certificate: "star", default: true },
      { id: "stillshot-origin", serverNames: ["stillshot-origin.tving.com"], notFoundStatus: 400, certificate: "star" },
    ];
    config["image-origin:certificates"] = { star: { mode: "acme", email: "ops@tving.com", challenge: "dns-01", dnsPlugin: "cloudflare", staging: true } };
    delete config["image-origin:tlsPrivateKeys"];
    config["image-origin:acmeDnsCredentials"] = { star: "dns_cloudflare_api_token = 0123456789abcdef0123456789abcdef01234567\n" };
    return { config, secretKeys: ["image-origin:acmeDnsCredentials"] };
  },
  // test/mocks/acme-local.test.ts: one host that is its own issuer.
  "acme-local": () => {
    const config = stackConfig("local");
    config["image-origin:certificates"] = { local: { mode: "acme", email: "ops@example.com", staging: true } };
    return { config, secretKeys: [] };
  },
};

export interface GraphResource {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parent: string;
  provider: string;
  dependencies: string[];
  deleteBeforeReplace: boolean;
  retainOnDelete: boolean;
  secretPaths: string[];
  inputs: unknown;
}

export interface Graph {
  resources: GraphResource[];
  outputs: unknown;
}

/** A graph as the program registers it now, with each resource's aliases resolved to URNs. */
export interface LiveGraph extends Graph {
  aliases: Map<string, string[]>;
}

// ---------------------------------------------------------------------------------------
// Normalising what differs between runs

const PEM = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
const FINGERPRINT = /\b(?:[0-9A-F]{2}:){31}[0-9A-F]{2}\b/g;
const TIME = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\b/g;

function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === "string") return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, mapStrings((value as Record<string, unknown>)[k], f)]));
  }
  return value;
}

/** Key material (random per run), the resizer image's content hash (changes with its code) and the checkout's path. */
function normaliser(): (s: string) => string {
  const ref = `${RESIZER_REPOSITORY}:${buildContextHash(projectRoot)}`;
  const id = mockImageId(ref);
  const vipRef = vipImageRef(projectRoot);
  // The checkout's own path (a build context) differs between clones.
  return (s) =>
    s
      .split(ref)
      .join(`${RESIZER_REPOSITORY}:<build context hash>`)
      .split(id)
      .join("<resizer image id>")
      .split(vipRef)
      .join(`${VIP_REPOSITORY}:<build context hash>`)
      .split(mockImageId(vipRef))
      .join("<vip image id>")
      .split(projectRoot)
      .join("<project root>")
      .replace(PEM, "<PEM $1>");
}

/**
 * An nginx instance's reload runs again when the hash of its files changes; the files hold
 * key material, so the hash is checked here against the installer's uploads (the same files)
 * and then named by what it covers.
 */
function reloadTrigger(run: ProgramRun, r: Registered): unknown {
  if (!(r.type === "command:local:Command" && r.name.endsWith("-reload"))) return r.inputs;
  const instance = r.name.slice(0, -"-reload".length);
  const installer = run.resources.find((c) => c.type === "docker:index/container:Container" && c.inputs.name === `${instance}-files`);
  const uploads = (installer?.inputs.uploads ?? []) as { file: string; content: string }[];
  const hash = uploads
    .reduce((h, u) => h.update(`${CONTAINER.configDir}${u.file.slice(CONTAINER.stagingDir.length)}`).update("\0").update(u.content).update("\0"), createHash("sha256"))
    .digest("hex");
  const triggers = r.inputs.triggers as string[];
  return { ...r.inputs, triggers: triggers.map((t) => (t === hash ? `<sha256 of ${instance}-files uploads>` : t)) };
}

// ---------------------------------------------------------------------------------------
// Aliases

function typeOf(urn: string): string {
  return urn.split("::")[2]!;
}

/**
 * The URN of a resource of `type` and `name` under `parent`, as the mock monitor makes it
 * (@pulumi/pulumi 3.248 runtime/mocks.js `newUrn`: the parent's last type, `$`, the type).
 * The engine prefixes the parent's whole type chain instead (pulumi/pulumi
 * sdk/go/common/resource/urn.go `NewURN`); in both, the same parent, type and name give
 * the same URN, which is all the comparison relies on.
 */
function urnOf(stack: string, project: string, type: string, name: string, parent: string): string {
  const qualified = parent && typeOf(parent) !== "pulumi:pulumi:Stack" ? `${typeOf(parent).split("$").pop()}$${type}` : type;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/**
 * Old URNs each resource answers to, as the engine computes them (pulumi/pulumi
 * pkg/resource/deploy/step_generator.go `generateAliases`): its own aliases, a spec's unset
 * fields taken from the resource (`collapseAliasToUrn`), and for each alias of its parent
 * the same child under the parent's old URN (`inheritedChildAlias`).
 */
export function resolveAliases(resources: Registered[]): Map<string, string[]> {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const memo = new Map<string, string[]>();
  const resolve = (r: Registered): string[] => {
    const known = memo.get(r.urn);
    if (known) return known;
    const [, stack = "", project = ""] = /^urn:pulumi:([^:]*)::([^:]*)::/.exec(r.urn) ?? [];
    const own = r.aliases.map((a: AliasRequest) => {
      if ("urn" in a) return a.urn;
      const s = a.spec;
      const parent = s.noParent ? "" : (s.parentUrn ?? r.parent);
      return urnOf(s.stack || stack, s.project || project, s.type || r.type, s.name || r.name, parent);
    });
    const parent = byUrn.get(r.parent);
    const inherited = parent
      ? resolve(parent).flatMap((parentAlias) =>
          [{ type: r.type, name: r.name }, ...own.map((u) => ({ type: typeOf(u).split("$").pop()!, name: u.split("::")[3]! }))].map(({ type, name }) => {
            const renamed = name.startsWith(parent.name) ? `${parentAlias.split("::")[3]}${name.slice(parent.name.length)}` : name;
            return urnOf(stack, project, type, renamed, parentAlias);
          }),
        )
      : [];
    const all = [...new Set([...own, ...inherited])];
    memo.set(r.urn, all);
    return all;
  };
  return new Map(resources.map((r) => [r.urn, resolve(r)]));
}

// ---------------------------------------------------------------------------------------
// Snapshots

export function snapshot(run: ProgramRun): LiveGraph {
  const norm = normaliser();
  const outputNorm = (s: string) => norm(s).replace(FINGERPRINT, "<fingerprint>").replace(TIME, "<time>");
  const resources = run.resources
    .map(
      (r): GraphResource => ({
        urn: r.urn,
        type: r.type,
        name: r.name,
        custom: r.custom,
        parent: r.parent,
        provider: r.provider,
        dependencies: [...r.dependencies].sort(),
        deleteBeforeReplace: r.deleteBeforeReplace,
        retainOnDelete: r.retainOnDelete,
        secretPaths: [...r.secretPaths].sort(),
        inputs: mapStrings(reloadTrigger(run, r), norm),
      }),
    )
    .sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
  return { resources, outputs: mapStrings(run.outputs, outputNorm), aliases: resolveAliases(run.resources) };
}

export function fixturePath(scenario: string): string {
  return join(FIXTURE_DIR, `${scenario}.json`);
}

export function readFixture(scenario: string): Graph {
  return JSON.parse(readFileSync(fixturePath(scenario), "utf8")) as Graph;
}

export function fixtureText(graph: Graph): string {
  return `${JSON.stringify({ resources: graph.resources, outputs: graph.outputs }, null, 2)}\n`;
}

/** Run a scenario's program (in a process of its own, as `runProgram` always does). */
export async function runScenario(scenario: string): Promise<ProgramRun> {
  const { config, secretKeys } = SCENARIOS[scenario]!();
  const run = await runProgram(config, secretKeys);
  if (run.error) throw new Error(`${scenario}: ${run.error.message}`);
  return run;
}

// ---------------------------------------------------------------------------------------
// Comparing

export interface Comparison {
  /** Everything that differs; empty when the graphs are the same. */
  problems: string[];
  /** New URN -> the old URN it answers to, where they differ (by alias). */
  moved: Map<string, string>;
  /** Component resources that did not exist before (they create nothing themselves). */
  addedComponents: string[];
}

/**
 * The live graph against the fixture: each old resource must be registered again under its
 * URN or under a new one that lists it as an alias, with the same type, inputs, secrets,
 * provider, dependencies and replacement options (URNs compared through the aliases). New
 * component resources are allowed (grouping creates nothing); new custom resources are not.
 */
export function compareGraphs(before: Graph, now: LiveGraph): Comparison {
  const problems: string[] = [];
  const old = new Map(before.resources.map((r) => [r.urn, r]));
  const toOld = new Map<string, string>();
  const claimedBy = new Map<string, string>();
  const addedComponents: string[] = [];
  for (const r of now.resources) {
    const candidates = old.has(r.urn) ? [r.urn] : (now.aliases.get(r.urn) ?? []).filter((a) => old.has(a));
    if (candidates.length > 1) problems.push(`${r.urn} answers to several old resources: ${candidates.join(", ")}`);
    const match = candidates[0];
    if (match === undefined) {
      if (r.custom) problems.push(`new resource ${r.urn}: no old URN and no alias to one`);
      else addedComponents.push(r.urn);
      continue;
    }
    const other = claimedBy.get(match);
    if (other !== undefined) problems.push(`${match} is claimed by both ${other} and ${r.urn}`);
    claimedBy.set(match, r.urn);
    toOld.set(r.urn, match);
  }
  for (const urn of old.keys()) if (!claimedBy.has(urn)) problems.push(`${urn} is gone (no resource registers it or aliases it)`);

  const added = new Set(addedComponents);
  const byNew = new Map(now.resources.map((r) => [r.urn, r]));
  const mapUrn = (urn: string) => toOld.get(urn) ?? urn;
  /** The nearest ancestor that existed before (new grouping components are skipped). */
  const oldParent = (urn: string): string => {
    let p = urn;
    while (added.has(p)) p = byNew.get(p)?.parent ?? "";
    return mapUrn(p);
  };
  const mapProvider = (ref: string) => {
    if (ref === "") return ref;
    const at = ref.lastIndexOf("::");
    return `${mapUrn(ref.slice(0, at))}${ref.slice(at)}`;
  };
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

  for (const r of now.resources) {
    const was = old.get(toOld.get(r.urn) ?? "");
    if (was === undefined) continue;
    const at = r.urn === was.urn ? r.urn : `${r.urn} (was ${was.urn})`;
    const moved = r.urn !== was.urn;
    if (r.type !== was.type) problems.push(`${at}: type ${was.type} -> ${r.type}`);
    if (r.custom !== was.custom) problems.push(`${at}: custom ${was.custom} -> ${r.custom}`);
    if (!moved && oldParent(r.parent) !== was.parent) problems.push(`${at}: parent ${was.parent} -> ${r.parent}`);
    if (mapProvider(r.provider) !== was.provider) problems.push(`${at}: provider ${was.provider} -> ${r.provider}`);
    const deps = [...new Set(r.dependencies.filter((d) => !added.has(d)).map(mapUrn))].sort();
    if (!same(deps, was.dependencies)) problems.push(`${at}: dependencies ${JSON.stringify(was.dependencies)} -> ${JSON.stringify(deps)}`);
    if (r.deleteBeforeReplace !== was.deleteBeforeReplace) problems.push(`${at}: deleteBeforeReplace ${was.deleteBeforeReplace} -> ${r.deleteBeforeReplace}`);
    if (r.retainOnDelete !== was.retainOnDelete) problems.push(`${at}: retainOnDelete ${was.retainOnDelete} -> ${r.retainOnDelete}`);
    if (!same(r.secretPaths, was.secretPaths)) problems.push(`${at}: secret inputs ${JSON.stringify(was.secretPaths)} -> ${JSON.stringify(r.secretPaths)}`);
    if (!same(r.inputs, was.inputs)) problems.push(`${at}: inputs differ:\n${inputDiff(was.inputs, r.inputs)}`);
  }
  if (!same(now.outputs, before.outputs)) problems.push(`stack outputs differ:\n${inputDiff(before.outputs, now.outputs)}`);
  return { problems, moved: new Map([...toOld].filter(([n, o]) => n !== o)), addedComponents };
}

/** The first differing leaves, by path, so a failure says what changed. */
function inputDiff(a: unknown, b: unknown, path = "", out: string[] = []): string {
  if (out.length >= 10) return out.join("\n");
  if (JSON.stringify(a) === JSON.stringify(b)) return out.join("\n");
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) inputDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k, out);
    return out.join("\n");
  }
  const show = (v: unknown) => (JSON.stringify(v) ?? "undefined").slice(0, 300);
  out.push(`  ${path || "(root)"}: ${show(a)} -> ${show(b)}`);
  return out.join("\n");
}
