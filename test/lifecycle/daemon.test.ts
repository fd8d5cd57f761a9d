// The daemon's part of the read-back facts, measured on this machine's Docker engine: a prod
// resizer's inputs, created through the Engine API the way the provider's Create sends them
// (resource_docker_container_funcs.go), are stored as the model says (readBack.ts). The
// containers are created, never started, and removed.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { docker, dockerRaw, requireDocker, requireImage } from "../helpers/docker.js";
import { readBack } from "../../infra/lifecycle/engine.js";
import { goDurationReadBack, parseGoDuration, parseNanoCpus, PLAIN_DAEMON } from "../../infra/lifecycle/readBack.js";
import { CONTAINER } from "../../infra/lifecycle/facts.js";
import { providerCpus } from "../../infra/providerForm.js";
import { deployed } from "./run.js";

const IMAGE = "nginx:1.28.0-bookworm";
const NAME = `lifecycle-readback-${randomBytes(4).toString("hex")}`;
const MIB = 1024 * 1024;
// The acme agents' healthcheck durations (acmeAgents.ts, certificate.ts): the ones Go reprints.
const AGENT_HEALTH = { tests: ["CMD", "true"], interval: "5m", timeout: "10s", startPeriod: "1m", retries: 1 };

function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: "/var/run/docker.sock", method, path, headers: { "Content-Type": "application/json" } }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

let inputs: Record<string, any>;
let inspected: any;
let durations: string[];
const bindSource = mkdtempSync(join(tmpdir(), "lifecycle-images-"));

before(async () => {
  await requireDocker();
  await requireImage(IMAGE);
  const prod = await deployed("prod");
  const resizer = prod.state.find((s) => s.name === "img01-resizer01")!.inputs;
  // Prod's resizers may use up to 4 CPUs; an engine refuses a limit above its own CPUs (this
  // one may have 2), and stores any value alike: the most this engine takes, as the program prints it.
  inputs = { ...resizer, cpus: providerCpus(Math.min(Number(resizer.cpus), availableParallelism())), healthcheck: AGENT_HEALTH };
  const ns = (d: string) => Number(parseGoDuration(d));
  const hc = inputs.healthcheck;
  // As resourceDockerContainerCreate builds the request.
  const created = await api("POST", `/containers/create?name=${NAME}`, {
    Image: IMAGE,
    User: inputs.user,
    Env: inputs.envs,
    StopSignal: inputs.stopSignal,
    StopTimeout: inputs.stopTimeout,
    Healthcheck: { Test: hc.tests, Interval: ns(hc.interval), Timeout: ns(hc.timeout), StartPeriod: ns(hc.startPeriod), Retries: hc.retries },
    HostConfig: {
      CapAdd: inputs.capabilities.adds ?? null,
      CapDrop: inputs.capabilities.drops,
      SecurityOpt: inputs.securityOpts,
      ReadonlyRootfs: inputs.readOnly,
      Tmpfs: inputs.tmpfs,
      Memory: inputs.memory * MIB,
      MemorySwap: inputs.memorySwap * MIB,
      NanoCpus: Number(parseNanoCpus(inputs.cpus)),
      Ulimits: inputs.ulimits.map((u: any) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
      LogConfig: { Type: inputs.logDriver, Config: inputs.logOpts },
      RestartPolicy: { Name: inputs.restart },
      Mounts: inputs.mounts.map((m: any) => ({ Type: m.type, Source: bindSource, Target: m.target, ReadOnly: m.readOnly ?? false })),
      Init: false,
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  inspected = (await api("GET", `/containers/${NAME}/json`)).json;
  // Go's own Duration.String(), printed by the docker CLI's template engine.
  durations = (await docker(["inspect", "--format", "{{.Config.Healthcheck.Interval}} {{.Config.Healthcheck.Timeout}} {{.Config.Healthcheck.StartPeriod}}", NAME])).split(" ");
});

after(async () => {
  await dockerRaw(["rm", "-f", NAME]);
  rmSync(bindSource, { recursive: true, force: true });
});

test("dockerd stores NanoCPUs exactly, which the provider prints as the program sends it (\"2.0\"; \"2\" would come back as \"2.0\")", () => {
  const whole = Number(inputs.cpus);
  assert.equal(inputs.cpus, `${whole}.0`);
  assert.equal(inspected.HostConfig.NanoCpus, whole * 1_000_000_000);
  assert.equal(readBack(CONTAINER, inputs, PLAIN_DAEMON).cpus, `${whole}.0`);
  assert.equal(readBack(CONTAINER, { ...inputs, cpus: String(whole) }, PLAIN_DAEMON).cpus, `${whole}.0`);
});

test("a memory-swap equal to the memory is stored as sent (this engine accounts swap): what the model reads back", () => {
  assert.equal(inputs.memorySwap, inputs.memory);
  assert.equal(inspected.HostConfig.MemorySwap / MIB, readBack(CONTAINER, inputs, PLAIN_DAEMON).memorySwap);
  assert.equal(inspected.HostConfig.MemorySwap, inputs.memory * MIB);
});

test("dockerd fills an unset memory-swap with twice the memory (why the program sends it)", async () => {
  const name = `${NAME}-swap`;
  try {
    const created = await api("POST", `/containers/create?name=${name}`, { Image: IMAGE, HostConfig: { Memory: 64 * MIB } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const hc = (await api("GET", `/containers/${name}/json`)).json.HostConfig;
    assert.equal(hc.MemorySwap, 128 * MIB);
    assert.equal(readBack(CONTAINER, { memory: 64 }, PLAIN_DAEMON).memorySwap, 128);
  } finally {
    await dockerRaw(["rm", "-f", name]);
  }
});

test("Go prints the agents' healthcheck durations as the model's read-back does (\"5m\" -> \"5m0s\")", () => {
  assert.deepEqual(durations, [AGENT_HEALTH.interval, AGENT_HEALTH.timeout, AGENT_HEALTH.startPeriod].map(goDurationReadBack));
  assert.deepEqual(durations, ["5m0s", "10s", "1m0s"]);
});

test("capabilities, security options, tmpfs, ulimits, log options and mounts are stored as sent", () => {
  const hc = inspected.HostConfig;
  assert.deepEqual({ adds: hc.CapAdd ?? undefined, drops: hc.CapDrop }, { adds: inputs.capabilities.adds, drops: inputs.capabilities.drops });
  assert.deepEqual(hc.SecurityOpt, inputs.securityOpts);
  assert.deepEqual(hc.Tmpfs, inputs.tmpfs);
  assert.deepEqual(hc.Ulimits.map((u: any) => ({ name: u.Name, soft: u.Soft, hard: u.Hard })), inputs.ulimits);
  assert.deepEqual({ type: hc.LogConfig.Type, opts: hc.LogConfig.Config }, { type: inputs.logDriver, opts: inputs.logOpts });
  assert.deepEqual(
    hc.Mounts.map((m: any) => ({ type: m.Type, target: m.Target, readOnly: m.ReadOnly ?? false })),
    inputs.mounts.map((m: any) => ({ type: m.type, target: m.target, readOnly: m.readOnly ?? false })),
  );
});

test("a nginx-style CHOWN capability is kept as \"CHOWN\", not normalised to \"CAP_CHOWN\"", async () => {
  const name = `${NAME}-caps`;
  try {
    const created = await api("POST", `/containers/create?name=${name}`, { Image: IMAGE, HostConfig: { CapAdd: ["CHOWN"], CapDrop: ["ALL"] } });
    assert.equal(created.status, 201);
    const hc = (await api("GET", `/containers/${name}/json`)).json.HostConfig;
    assert.deepEqual([hc.CapAdd, hc.CapDrop], [["CHOWN"], ["ALL"]]);
  } finally {
    await dockerRaw(["rm", "-f", name]);
  }
});
