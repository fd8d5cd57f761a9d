// The container tier of `npm run bench`: the local stack's host run on this machine's
// Docker engine exactly as the Pulumi program declares it (the inputs a mocked `pulumi up`
// registers, as test/containers/local-stack.test.ts runs them: no registry, images built
// here), and beside its master a plain nginx container serving the same bytes as a file,
// created from the master container's own declaration (same image, user, read-only root,
// tmpfs, limits and Docker log driver: the logs of both go through it). Not pure.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fromStackConfig, parseClusterSpec } from "../infra/config.js";
import { CONTAINER, planCluster } from "../infra/topology.js";
import { networkAddress } from "../infra/topology/placement.js";
import { freePorts } from "../infra/local/ports.js";
import { createArgs, DECLARED_ORDER, runDeclared, useEngineImages } from "../test/helpers/declared.js";
import { docker, dockerRaw, requireDocker } from "../test/helpers/docker.js";
import { ofType, runProgram, stackConfig, type Registered } from "../test/helpers/pulumi.js";
import { staticNginxConfig } from "./lib/peers-config.js";

export interface ContainerTier {
  /** Base URLs on the host network's container addresses (no docker-proxy in between). */
  urls: { master: string; static: string };
  /** Host pids whose CPU the rows count: each container's nginx, and dockerd (the log driver runs there). */
  pids: { master: number[]; static: number[] };
  stop(): Promise<void>;
}

/** Where the static container finds its files, and the address it gets on the stack's network. */
const STATIC = { root: "/srv/static", config: "/etc/bench-static/nginx.conf", offset: 200 } as const;

/**
 * Declares and starts the local stack's containers serving `imagesDir`, and the static
 * container serving `staticDir` (which must hold the file the HIT rows compare with).
 */
export async function startContainerTier(opts: { imagesDir: string; staticDir: string; work: string; log: (line: string) => void }): Promise<ContainerTier> {
  await requireDocker();
  const host = `bench${randomBytes(3).toString("hex")}`;
  const subnet = `10.213.${1 + (randomBytes(1)[0]! % 250)}.0/24`;
  const [httpPort = 0, httpsPort = 0] = await freePorts(2);
  const config = stackConfig("local");
  config["image-origin:hosts"] = [{ name: host, address: "127.0.0.1", docker: "unix:///var/run/docker.sock" }];
  config["image-origin:imagesDir"] = opts.imagesDir;
  config["image-origin:master"] = { httpPort, httpsPort };
  config["image-origin:network"] = { subnet };
  // A container's nofile limit cannot exceed the engine's own (as in the container tests).
  // The per-client resize limits are off, as for the local cluster (run.ts): wrk is one
  // address standing for many clients, and the HIT row measured 429s with them on.
  config["image-origin:nginx"] = {
    master: { workerConnections: 4096, workerRlimitNofile: 16384 },
    slave: { workerConnections: 2048, workerRlimitNofile: 8192 },
    resizeLimits: { enabled: false },
  };
  opts.log("container tier: the program's declarations (mocked pulumi up)...");
  const run = await runProgram(config);
  if (run.error) throw run.error;

  opts.log("container tier: images (docker build of the resizer, cached layers)...");
  await useEngineImages(run, host);
  const declared = ofType(run, "Container");
  const container = (suffix: string): Registered["inputs"] => declared.find((c) => c.inputs.name === `${host}-${suffix}`)!.inputs;

  const created: string[] = [];
  const networks = ofType(run, "Network").map((n) => n.inputs);
  const volumes = ofType(run, "Volume").map((v) => v.inputs.name as string);
  const stop = async () => {
    for (const name of created.reverse()) await dockerRaw(["rm", "-f", "-v", name]);
    for (const v of volumes) await dockerRaw(["volume", "rm", "-f", v]);
    for (const n of networks) await dockerRaw(["network", "rm", n.name]);
  };
  try {
    opts.log("container tier: network, volumes and containers in the declared order...");
    const network = networks[0]!;
    const ipam = network.ipamConfigs[0];
    await docker(["network", "create", "--driver", network.driver, "--subnet", ipam.subnet, "--gateway", ipam.gateway, network.name]);
    for (const v of volumes) await docker(["volume", "create", v]);
    for (const suffix of DECLARED_ORDER) {
      created.push(container(suffix).name);
      await runDeclared(container(suffix));
    }

    // The static server: the master container's declaration with another name, address,
    // files and command, and no published port, health check or upload.
    const master = container("master");
    const configDir = path.join(opts.work, "static-container");
    mkdirSync(configDir, { recursive: true });
    chmodSync(configDir, 0o755);
    // The container plan of the same config: the master's tuning (log format and buffer).
    const masterPlan = planCluster(parseClusterSpec(fromStackConfig(config))).hosts[0]!.master;
    writeFileSync(
      path.join(configDir, "nginx.conf"),
      staticNginxConfig({
        master: masterPlan,
        // The master container's own paths (the placement's), its config file moved aside.
        paths: { ...masterPlan.paths, config: STATIC.config },
        staticRoot: STATIC.root,
        listen: { address: CONTAINER.bindAll, port: CONTAINER.masterHttpPort },
      }),
    );
    chmodSync(path.join(configDir, "nginx.conf"), 0o644);
    const staticName = `${host}-static`;
    const staticAddress = networkAddress(subnet, STATIC.offset);
    const { healthcheck: _h, ports: _p, uploads: _u, wait: _w, ...like } = master;
    const staticInputs = {
      ...like,
      name: staticName,
      networksAdvanced: [{ name: network.name, ipv4Address: staticAddress, aliases: [staticName] }],
      mounts: [
        { type: "bind", source: opts.staticDir, target: STATIC.root, readOnly: true },
        { type: "bind", source: configDir, target: path.posix.dirname(STATIC.config), readOnly: true },
      ],
      entrypoints: ["nginx"],
      command: ["-c", STATIC.config, "-g", "daemon off;"],
    };
    created.push(staticName);
    await docker(createArgs(staticInputs));
    await docker(["start", staticName]);

    const masterAddress = master.networksAdvanced[0].ipv4Address as string;
    const urls = { master: `http://${masterAddress}:${CONTAINER.masterHttpPort}`, static: `http://${staticAddress}:${CONTAINER.masterHttpPort}` };
    await waitFor(`${urls.static}/healthz-none`, (s) => s === 404, "the static container");
    const pidOf = async (name: string) => Number(await docker(["inspect", "--format", "{{.State.Pid}}", name]));
    const dockerd = Number(readFileSync("/var/run/docker.pid", "utf8").trim());
    return {
      urls,
      pids: { master: [await pidOf(master.name), dockerd], static: [await pidOf(staticName), dockerd] },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitFor(url: string, ok: (status: number) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = await fetch(url).then((r) => (r.body?.cancel(), r.status), () => 0);
    if (ok(status)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not answer ${url} within 30 s (last status ${status})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
