// A change to one host's nginx tuning reaches only that host's master: the other hosts'
// uploads stay byte for byte what they were, so `pulumi up` leaves their containers alone.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { instanceFiles } from "../../infra/render.js";
import { specFromStackYaml } from "../../infra/stack.js";
import { planCluster } from "../../infra/topology.js";
import { projectRoot } from "../helpers/cli.js";
import { installedFiles, prodWithSuppliedCertificate, runProgram } from "../helpers/pulumi.js";

test("raising worker_connections on img03 changes img03-master's config upload and nothing else", async () => {
  const { config, secretKeys } = prodWithSuppliedCertificate();
  const hosts = structuredClone(config["image-origin:hosts"]) as Record<string, unknown>[];
  hosts[2] = { ...hosts[2], nginx: { master: { workerConnections: 8192, workerRlimitNofile: 32768 } } };
  config["image-origin:hosts"] = hosts;
  const run = await runProgram(config, secretKeys);
  if (run.error) throw run.error;

  // What the unchanged stack file uploads, from the same pure renderer.
  const before = planCluster(specFromStackYaml(readFileSync(join(projectRoot, "Pulumi.prod.yaml"), "utf8"), "prod"));
  const uploadsNow = (name: string) =>
    [...installedFiles(run, name)].filter(([file]) => !file.startsWith("/etc/image-origin/tls/")).map(([file, content]) => ({ file, content }));

  const changed: string[] = [];
  for (const host of before.hosts) {
    const files = instanceFiles(host);
    for (const [instance, expected] of Object.entries(files)) {
      const now = uploadsNow(instance);
      const same = JSON.stringify(now.map((u) => [u.file, u.content])) === JSON.stringify(expected.map((f) => [f.path, f.content]));
      if (!same) changed.push(instance);
    }
  }
  assert.deepEqual(changed, ["img03-master"]);
  const conf = uploadsNow("img03-master").find((u) => u.file === "/etc/image-origin/nginx.conf")!.content;
  assert.match(conf, /worker_connections 8192;/);
  assert.match(conf, /worker_rlimit_nofile 32768;/);
});
