// Tier 5: the resizer image built from resizer/Dockerfile and run the way production
// runs it: read-only root filesystem (no tmpfs), non-root, no capabilities, no privilege
// escalation, images mounted read-only, port published on loopback only.
import assert from "node:assert/strict";
import { chmod, rm } from "node:fs/promises";
import { after, before, it } from "node:test";
import sharp from "sharp";
import {
  baseImageOf, buildImage, containerName, docker, dockerRaw, fetchWithin, hostPort, inspect, logs, removeContainers,
  requireDocker, requireImage, runDetached, stopContainer, waitHealthy, waitHttp,
} from "../helpers/docker.js";
import { fixtureTree } from "../helpers/resizer.js";

const IMAGE = "image-origin/resizer:test";
const name = containerName("resizer");
let tree: Awaited<ReturnType<typeof fixtureTree>>;
let base = "";

before(async () => {
  await requireDocker();
  await requireImage(await baseImageOf("resizer/Dockerfile"));
  await buildImage("resizer/Dockerfile", IMAGE);
  tree = await fixtureTree();
  // The container runs as uid 1000: the tree must be world-readable, like a real /images.
  for (const dir of [tree.dir, tree.root]) await chmod(dir, 0o755);
  await runDetached(name, [
    "--read-only",
    "--user", "1000:1000",
    "--cap-drop", "ALL",
    "--security-opt", "no-new-privileges",
    "--memory", "512m",
    "-v", `${tree.root}:/images:ro`,
    "-e", 'RESIZER_PRESETS={"thumb_320x180":{"w":320,"h":180}}',
    "-p", "127.0.0.1::9000",
  ], IMAGE);
  base = `http://127.0.0.1:${await hostPort(name, 9000)}`;
  await waitHttp(`${base}/healthz`);
}, { timeout: 900_000 });

after(async () => {
  await removeContainers(name);
  if (tree !== undefined) await rm(tree.dir, { recursive: true, force: true });
});

it("the image runs as a non-root user and holds production dependencies only", async () => {
  const user = await inspect<string>(IMAGE, ".Config.User");
  assert.ok(user !== "" && !/^(root|0)(:|$)/.test(user), `image user is ${JSON.stringify(user)}`);
  const typescript = await dockerRaw(["run", "--rm", "--entrypoint", "node", IMAGE, "-e", "require.resolve('typescript')"]);
  assert.notEqual(typescript.code, 0, "typescript (a dev dependency) must not be in the image");
  const cmd = await inspect<string[]>(IMAGE, ".Config.Cmd");
  assert.equal(cmd[0], "node", "exec form: node is PID 1 and gets SIGTERM itself");
});

it("resizes through the container: JPEG and WebP, a preset, and the TimThumb alias", async () => {
  for (const [query, format, width, height] of [
    ["/resize?src=dir/sub/photo.jpg&w=320&h=180", "jpeg", 320, 180],
    ["/resize?src=dir/sub/photo.jpg&w=320&h=180&fmt=webp", "webp", 320, 180],
    ["/resize?src=rotated.jpg&p=thumb_320x180", "jpeg", 200, 180],
    ["/timthumb.php?src=/dir/sub/photo.jpg&w=160&h=90", "jpeg", 160, 90],
  ] as const) {
    const res = await fetchWithin(base + query, 30_000);
    assert.equal(res.status, 200, query);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], [format, width, height], query);
  }
  const refused = await fetchWithin(`${base}/resize?src=../etc/passwd&w=10`, 10_000);
  assert.equal(refused.status, 400);
});

it("/healthz answers and the HEALTHCHECK turns healthy", async () => {
  assert.equal((await fetchWithin(`${base}/healthz`, 10_000)).status, 200);
  await waitHealthy(name);
});

it("writes nothing: the read-only root filesystem needs no tmpfs", async () => {
  const mounts = await inspect<{ Destination: string }[]>(name, ".Mounts");
  assert.deepEqual(mounts.map((m) => m.Destination), ["/images"]);
  assert.equal(await inspect<boolean>(name, ".HostConfig.ReadonlyRootfs"), true);
  const big = await fetchWithin(`${base}/resize?src=dir/sub/photo.jpg&w=1920&fmt=png`, 30_000);
  assert.equal(big.status, 200);
});

it("docker stop (SIGTERM) drains and exits 0, not 137 (killed)", async () => {
  const code = await stopContainer(name, 10);
  assert.equal(code, 0, await logs(name));
  assert.match(await logs(name), /"msg":"stopped"/);
  assert.equal(await docker(["inspect", "--format", "{{.State.Running}}", name]), "false");
});
