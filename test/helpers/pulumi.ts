// Run the Pulumi program under `pulumi.runtime.setMocks` (no CLI, no engine) and return
// every registered resource with its real inputs, provider, parent, dependencies and
// replacement options. One program run per process: node's test runner gives each
// test file its own process, and the program module is cached per process.
import { createHash, generateKeyPairSync } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parseStackYaml } from "../../infra/stack.js";
import { CONTAINER } from "../../infra/topology.js";
import { makePem, selfSignedLikeTlsProvider, type Pem } from "./certs.js";
import { projectRoot } from "./cli.js";

export const PROJECT = "image-origin";

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
  retainOnDelete: boolean;
}

export interface ProgramRun {
  resources: Registered[];
  outputs: Record<string, unknown>;
  /** The error the program failed with, if it did. */
  error?: Error;
}

/** A stack file's config as the engine passes it: values as strings (objects as JSON). */
export function stackConfig(stack: string): Record<string, unknown> {
  const file = `Pulumi.${stack}.yaml`;
  return parseStackYaml(readFileSync(join(projectRoot, file), "utf8"), file);
}

/** Resolve an Output (or anything) to its plain value, secrets included. */
export function resolve<T>(value: pulumi.Input<T> | undefined): Promise<T> {
  return new Promise((res) => pulumi.output(value as pulumi.Input<T>).apply((v) => res(v as T)));
}

// The SDK's wire marker for a secret value.
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

function reveal(value: unknown, path: string, secrets: string[]): unknown {
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

/** What a renewer's first check prints in the mocks (see infra/acme.ts `status`). */
export const MOCK_ISSUED = `ok 2026-11-22T06:00:00Z fingerprint=${"AB:".repeat(31)}AB not-after=2027-02-20T05:00:00Z\n`;

/** Inputs with every secret path removed: what `pulumi preview` and state show in plain text. */
export function plainInputs(r: Registered): unknown {
  const drop = (value: unknown, path: string): unknown => {
    if (r.secretPaths.includes(path)) return "[secret]";
    if (Array.isArray(value)) return value.map((v, i) => drop(v, path ? `${path}.${i}` : String(i)));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, drop(v, path ? `${path}.${k}` : k)]));
    }
    return value;
  };
  return drop(r.inputs, "");
}

/** The id the mocked delivery reports for an image ref (deterministic, so tests can map back). */
export function mockImageId(ref: string): string {
  return `sha256:${createHash("sha256").update(ref).digest("hex")}`;
}

/** Plausible provider outputs for the resources the program reads back. */
function mockState(args: pulumi.runtime.MockResourceArgs): Record<string, any> {
  const state = { ...args.inputs };
  switch (args.type) {
    case "docker:index/container:Container":
      return state;
    case "docker:index/remoteImage:RemoteImage":
      return { ...state, imageId: `sha256:${"1".repeat(64)}`, repoDigest: `${args.inputs.name}@sha256:${"2".repeat(64)}` };
    case "docker:index/image:Image":
      return { ...state, repoDigest: "" };
    case "command:local:Command":
      // An issuance gate prints the renewer's result; an image delivery one id per ref.
      if (args.name.endsWith("-issued")) return { ...state, stdout: MOCK_ISSUED, stderr: "" };
      if (args.name.endsWith("-images")) return { ...state, stdout: `${(args.inputs.triggers as string[]).map(mockImageId).join("\n")}\n`, stderr: "" };
      return { ...state, stdout: "", stderr: "" };
    case "tls:index/privateKey:PrivateKey": {
      // A real key of the requested kind, so certificates made from it parse and serve.
      const key = args.inputs.algorithm === "RSA" ? generateKeyPairSync("rsa", { modulusLength: args.inputs.rsaBits ?? 2048 }) : generateKeyPairSync("ec", { namedCurve: "P-256" });
      return {
        ...state,
        privateKeyPem: key.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        publicKeyPem: key.publicKey.export({ type: "spki", format: "pem" }).toString(),
      };
    }
    case "tls:index/selfSignedCert:SelfSignedCert":
      // Mock inputs keep secrets wrapped; the provider sees plain values.
      return { ...state, ...selfSignedLikeTlsProvider(reveal(args.inputs, "", []) as Parameters<typeof selfSignedLikeTlsProvider>[0]) };
    default:
      return state;
  }
}

/**
 * Set config and mocks, then load the program. `config` maps `image-origin:<key>` to
 * values (objects are JSON-encoded for the engine); `secretKeys` lists secret keys.
 */
export async function runProgram(config: Record<string, unknown>, secretKeys: string[] = []): Promise<ProgramRun> {
  const encoded = Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
  pulumi.runtime.setAllConfig(encoded, secretKeys);

  const byUrn = new Map<string, Registered>();
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({ id: args.custom ? `${args.name}-id` : "", state: mockState(args) }),
      call: (args) => args.inputs,
    },
    PROJECT,
    "test",
    false,
  );

  // The mock monitor answers registerResource; wrap it to see what the engine is told
  // beyond the inputs (dependencies, parent, provider, replacement options).
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource: (req: any, cb: (err: unknown, res: any) => void) => void;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) =>
    original(req, (err, res) => {
      if (!err && res) {
        const urn: string = res.getUrn();
        const secretPaths: string[] = [];
        const inputs = reveal(req.getObject()?.toJavaScript() ?? {}, "", secretPaths) as Record<string, any>;
        byUrn.set(urn, {
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
          retainOnDelete: req.getRetainondelete(),
        });
      }
      cb(err, res);
    });

  let outputs: Record<string, unknown> = {};
  let error: Error | undefined;
  try {
    const program = (await import("../../infra/index.js")) as Record<string, unknown>;
    outputs = await resolve(program as Record<string, pulumi.Input<unknown>>);
  } catch (err) {
    error = err as Error;
  }
  // Let registrations that no output waits for settle.
  for (let i = 0, last = -1; i < 50 && byUrn.size !== last; i++) {
    last = byUrn.size;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { resources: [...byUrn.values()], outputs, ...(error && { error }) };
}

/** `runProgram` in a child process, for a second run in one test file (see program-child.ts). */
export function runProgramInChild(config: Record<string, unknown>, secretKeys: string[] = []): ProgramRun {
  const dir = mkdtempSync(join(tmpdir(), "program-run-"));
  try {
    const out = join(dir, "run.json");
    execFileSync(process.execPath, ["--import", "tsx", join(__dirname, "program-child.ts"), out], { input: JSON.stringify({ config, secretKeys }), stdio: ["pipe", "ignore", "inherit"] });
    const { resources, error } = JSON.parse(readFileSync(out, "utf8")) as { resources: Registered[]; error?: string };
    return { resources, outputs: {}, ...(error !== undefined && { error: new Error(error) }) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Resources of a type (short names: "Container", "Command", ...). */
export function ofType(run: ProgramRun, suffix: string): Registered[] {
  return run.resources.filter((r) => r.type.endsWith(`:${suffix}`) || r.type.endsWith(`/${suffix}`) || r.type === suffix);
}

/** The one resource of that name (custom resources only unless `component` is set). */
export function named(run: ProgramRun, name: string, component = false): Registered {
  const found = run.resources.filter((r) => r.name === name && r.custom !== component);
  if (found.length !== 1) throw new Error(`expected one resource named ${name}, found ${found.length}`);
  return found[0]!;
}

/**
 * The files an nginx instance gets, by their path inside it: its `<name>-files` installer
 * receives them under the staging directory and installs them into the config volume.
 */
export function installedFiles(run: ProgramRun, instance: string): Map<string, string> {
  const installer = ofType(run, "Container").find((c) => c.inputs.name === `${instance}-files`);
  if (installer === undefined) throw new Error(`no installer for ${instance}`);
  const uploads = (installer.inputs.uploads ?? []) as { file: string; content: string }[];
  return new Map(uploads.map((u) => [`${CONTAINER.configDir}${u.file.slice(CONTAINER.stagingDir.length)}`, u.content]));
}

/**
 * The prod stack as an operator runs it: the stack file's placeholder certificate replaced
 * by a real `*.tving.com` chain and its key set as the secret (both generated here).
 */
export function prodWithSuppliedCertificate(): { config: Record<string, unknown>; secretKeys: string[]; pem: Pem } {
  const config = stackConfig("prod");
  const pem = makePem({ names: ["*.tving.com", "tving.com"], days: 398 });
  const certificates = structuredClone(config["image-origin:certificates"]) as Record<string, Record<string, unknown>>;
  certificates["star-tving"] = { ...certificates["star-tving"], certificate: pem.certificatePem };
  config["image-origin:certificates"] = certificates;
  config["image-origin:tlsPrivateKeys"] = { "star-tving": pem.privateKeyPem };
  return { config, secretKeys: ["image-origin:tlsPrivateKeys"], pem };
}
