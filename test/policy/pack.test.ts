// The policy pack as `pulumi preview --policy-pack policy` runs it: built, started by
// @pulumi/pulumi's run-policy-pack with the arguments and working directory the nodejs
// language host uses, the stack config in PULUMI_CONFIG, then asked over gRPC exactly as
// the engine asks (AnalyzeRequest with secret and unknown markers in the properties).
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { RULE_NAMES } from "../../policy/rules.js";
import { projectRoot } from "../helpers/cli.js";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const analyzerRpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb");

const packDir = join(projectRoot, "policy");
let pack: ChildProcess;
let client: any;

before(async () => {
  const build = spawnSync(join(projectRoot, "node_modules/.bin/tsc"), ["-p", join(packDir, "tsconfig.build.json")], { encoding: "utf8" });
  assert.equal(build.status, 0, `npm run build --workspace policy failed:\n${build.stdout}${build.stderr}`);
  // As pulumi-language-nodejs RunPlugin does for an analyzer: node <run-policy-pack> <engine> <pack dir>, cwd = pack dir.
  const runner = join(projectRoot, "node_modules/@pulumi/pulumi/cmd/run-policy-pack");
  const hosts = [{ name: "img01", address: "172.18.141.51", docker: "ssh://deploy@172.18.141.51" }];
  pack = spawn(process.execPath, [runner, "127.0.0.1:1", packDir], {
    cwd: packDir,
    env: { ...process.env, PULUMI_CONFIG: JSON.stringify({ "image-origin:hosts": JSON.stringify(hosts) }) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  pack.stderr!.on("data", (d) => (err += d));
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    pack.stdout!.on("data", (d) => {
      out += d;
      const line = /^(\d+)\n/.exec(out);
      if (line) resolve(line[1]!);
    });
    pack.on("exit", (code) => reject(new Error(`the pack exited ${code} before serving:\n${err}`)));
    setTimeout(() => reject(new Error(`the pack printed no port in 60 s:\n${err}`)), 60_000).unref();
  });
  client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});
after(() => {
  client?.close();
  pack?.kill("SIGTERM");
});

const call = <T>(method: string, req: unknown): Promise<T> =>
  new Promise((resolve, reject) => client[method](req, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));

const secret = (value: unknown) => ({ [specialSigKey]: specialSecretSig, value });

/** The engine's AnalyzeRequest for one resource. */
function request(name: string, type: string, props: Record<string, unknown>) {
  const req = new analyzerPb.AnalyzeRequest();
  req.setType(type);
  req.setName(name);
  req.setUrn(`urn:pulumi:prod::image-origin::${type}::${name}`);
  req.setProperties(Struct.fromJavaScript(props as Record<string, any>));
  const opts = new analyzerPb.AnalyzerResourceOptions();
  opts.setDeletebeforereplace(true);
  opts.setDeletebeforereplacedefined(true);
  req.setOptions(opts);
  return req;
}

async function analyze(name: string, props: Record<string, unknown>, type = "docker:index/container:Container") {
  const res = await call<any>("analyze", request(name, type, props));
  return (res.getDiagnosticsList() as any[]).map((d) => ({ policy: d.getPolicyname() as string, level: d.getEnforcementlevel() as number, message: d.getMessage() as string }));
}

/** A master-files installer as the program declares it, with the TLS key as given. */
const installer = (key: unknown) => ({
  name: "img01-master-files",
  image: `sha256:${"a".repeat(64)}`,
  user: "0:0",
  capabilities: { drops: ["ALL"], adds: ["CHOWN"] },
  securityOpts: ["no-new-privileges:true"],
  networkMode: "none",
  attach: true,
  mustRun: false,
  restart: "no",
  uploads: [{ file: "/staging/tls/star-tving.key", content: key }],
});
const KEY = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";

describe("the policy pack served as the CLI runs it", () => {
  test("it announces every rule with its enforcement level", async () => {
    const info = await call<any>("getAnalyzerInfo", new Empty());
    assert.equal(info.getName(), "image-origin");
    const levels = ["advisory", "mandatory"];
    const served = (info.getPoliciesList() as any[]).map((p) => ({ name: p.getName(), level: levels[p.getEnforcementlevel()] }));
    assert.deepEqual(served, RULE_NAMES);
  });

  test("a key sent in plain text is a mandatory violation; the same key sent as a secret passes", async () => {
    const plain = await analyze("img01-master-files", installer(KEY));
    assert.deepEqual(plain.filter((d) => d.policy === "no-plain-secrets"), [
      { policy: "no-plain-secrets", level: 1, message: "No private key or credential in a plain (non-secret) input: keys and credentials reach resources as Pulumi secrets only.\nuploads.0.content: holds a private key in plain text; pass it as a Pulumi secret (pulumi.secret / config set --secret)" },
    ]);
    assert.deepEqual(await analyze("img01-master-files", installer(secret(KEY))), []);
  });

  test("the stack config reaches the pack: a master publishing on another address than its host's is refused", async () => {
    const master = { ...installer("x"), name: "img01-master", attach: false, mustRun: true, readOnly: true, user: "101:101", memory: 512, capabilities: { drops: ["ALL"] }, restart: "unless-stopped", logDriver: "local", logOpts: { "max-size": "20m" }, healthcheck: { tests: ["CMD", "true"] }, ports: [{ internal: 8080, external: 80, ip: "172.18.141.99" }] };
    const found = await analyze("img01-master", master);
    assert.deepEqual(found.map((d) => [d.policy, d.message.split("\n")[1]]), [["ports-only-masters-on-host-address", "port 80 is published on 172.18.141.99, not on img01's address 172.18.141.51"]]);
  });

  test("an input unknown during preview (the image id a host reports) skips that rule with an advisory note; the scans go on", async () => {
    const found = await analyze("img01-master-files", { ...installer(KEY), image: unknownValue });
    assert.deepEqual(found.filter((d) => d.policy === "no-plain-secrets").length, 1, "the plain key is still found");
    const skipped = found.filter((d) => d.policy !== "no-plain-secrets");
    assert.deepEqual(skipped.map((d) => [d.policy, d.level]), [["images-by-id-or-digest", 0]]);
    assert.match(skipped[0]!.message, /can't run policy 'images-by-id-or-digest'.* during preview: string value at \.image can't be known during preview/);
  });
});
