// Run the Pulumi program under `pulumi.runtime.setMocks` (no CLI, no engine) and return
// every registered resource with its real inputs, provider, parent, dependencies and
// replacement options. Each run has a process of its own (program-child.ts): the program
// module runs once per process, and the run is over when that process's event loop is
// empty, which is when Pulumi's own language host takes a program as finished (its
// `beforeExit` handler in @pulumi/pulumi cmd/run). A registration made late, after any
// amount of quiet, is still seen; a program that never finishes fails the run.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parseStackYaml } from "../../infra/stack.js";
import { CONTAINER } from "../../infra/topology.js";
import { STAND_IN_ISSUED, standInImageId, standInOutputs } from "../../infra/lifecycle/standIns.js";
import { registration, reveal, type Registered } from "../../infra/lifecycle/request.js";
import { makePem, type Pem } from "./certs.js";
import { projectRoot } from "./cli.js";

export const PROJECT = "image-origin";

export type { AliasRequest, Registered } from "../../infra/lifecycle/request.js";
export { registration, reveal } from "../../infra/lifecycle/request.js";

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

/** What a renewer's first check prints in the mocks (see infra/acme.ts `status`). */
export const MOCK_ISSUED = STAND_IN_ISSUED;

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
export const mockImageId = standInImageId;

/** Plausible provider outputs for the resources the program reads back (mock inputs keep secrets wrapped; providers see plain values). */
export function mockState(args: pulumi.runtime.MockResourceArgs): Record<string, any> {
  return standInOutputs(args.type, args.name, args.inputs, reveal(args.inputs, "", []) as Record<string, any>);
}

/** How long a program may run before its run fails (it normally takes a few seconds). */
const PROGRAM_TIMEOUT_MS = 120_000;

/**
 * Runs the program with this config (`image-origin:<key>` -> value; objects are
 * JSON-encoded for the engine; `secretKeys` lists secret keys) in a process of its own,
 * and resolves once that process's event loop is empty: everything the program
 * registered, its outputs, and the error it failed with, if any.
 */
export async function runProgram(config: Record<string, unknown>, secretKeys: string[] = []): Promise<ProgramRun> {
  const dir = mkdtempSync(join(tmpdir(), "program-run-"));
  try {
    const out = join(dir, "run.json");
    const child = spawn(process.execPath, ["--import", "tsx", join(__dirname, "program-child.ts"), out], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    child.stdin!.end(JSON.stringify({ config, secretKeys }));
    const timer = setTimeout(() => child.kill("SIGKILL"), PROGRAM_TIMEOUT_MS);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once("exit", (c, sig) => resolve([c, sig])));
    clearTimeout(timer);
    if (code !== 0) {
      const why = signal === "SIGKILL" ? `did not finish within ${PROGRAM_TIMEOUT_MS / 1000}s (something keeps its event loop alive)` : `exited ${code ?? signal}`;
      throw new Error(`the mocked program run ${why}:\n${stderr.slice(-3000)}`);
    }
    const run = JSON.parse(readFileSync(out, "utf8")) as { resources: Registered[]; outputs: Record<string, unknown>; error?: string };
    return { resources: run.resources, outputs: run.outputs, ...(run.error !== undefined && { error: new Error(run.error) }) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The run itself, in this process (program-child.ts calls it once): set config and mocks,
 * load the program, resolve its outputs, and write everything to `out` once the event
 * loop is empty. An error the program throws or leaves unhandled fails the run, as the
 * engine would.
 */
export function runProgramInThisProcess(config: Record<string, unknown>, secretKeys: string[], out: string): void {
  const encoded = Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
  pulumi.runtime.setAllConfig(encoded, secretKeys);

  const byUrn = new Map<string, Registered>();
  let outputs: Record<string, unknown> | undefined;
  let error: Error | undefined;
  const fail = (err: unknown) => (error ??= err instanceof Error ? err : new Error(String(err)));
  process.on("uncaughtException", fail);
  process.on("unhandledRejection", fail);
  process.once("beforeExit", () => {
    if (outputs === undefined && error === undefined) fail(new Error("the program's outputs never resolved"));
    writeFileSync(out, JSON.stringify({ resources: [...byUrn.values()], outputs: outputs ?? {}, ...(error && { error: error.message }) }));
  });

  void (async () => {
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
          const record = registration(req, res.getUrn(), res.getObject()?.toJavaScript() ?? {});
          byUrn.set(record.urn, record);
        }
        cb(err, res);
      });

    const program = (await import("../../infra/index.js")) as Record<string, unknown>;
    outputs = await resolve(program as Record<string, pulumi.Input<unknown>>);
  })().catch(fail);
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

/** The L4 hosts of the software VIP in the tests' prod variant (dedicated machines beside img01–img05). */
export const PROD_L4_HOSTS = [
  { name: "lb01", address: "172.18.141.61", docker: "ssh://deploy@172.18.141.61" },
  { name: "lb02", address: "172.18.141.62", docker: "ssh://deploy@172.18.141.62" },
] as const;

/** prod (with its supplied certificate) behind the software VIP: HAProxy and keepalived on two L4 hosts. */
export function prodWithHaproxy(): { config: Record<string, unknown>; secretKeys: string[]; pem: Pem } {
  const operator = prodWithSuppliedCertificate();
  const vip = structuredClone(operator.config["image-origin:vip"]) as Record<string, unknown>;
  operator.config["image-origin:vip"] = { ...vip, mode: "haproxy", haproxy: { hosts: PROD_L4_HOSTS.map((h) => ({ ...h })), statsAllow: ["10.20.0.0/16"] } };
  return operator;
}
