// The resizer image, built once on the operator's engine from resizer/Dockerfile and
// tagged by the content of its build inputs, so the tag (and every host's container)
// changes exactly when the code or the lockfile does.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

const DOCKERFILE = "resizer/Dockerfile";
const SKIP = new Set(["node_modules", "dist"]);

/** The context paths a Dockerfile copies (`COPY src... dest`, not `--from` stage copies). */
export function copySources(dockerfile: string): string[] {
  const sources = new Set<string>();
  for (const line of dockerfile.split("\n")) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== "COPY" || words.some((w) => w.startsWith("--from="))) continue;
    for (const src of words.slice(1, -1).filter((w) => !w.startsWith("--"))) sources.add(src.replace(/\/+$/, ""));
  }
  return [...sources].sort();
}

function* files(root: string, path: string): Generator<string> {
  const full = join(root, path);
  if (statSync(full).isDirectory()) {
    for (const entry of readdirSync(full).sort()) if (!SKIP.has(entry)) yield* files(root, join(path, entry));
  } else {
    yield path;
  }
}

/**
 * sha256 over the Dockerfile and exactly what it copies from the context (relative paths
 * and bytes); the first 16 hex digits. A docs-only change makes no new image.
 */
export function buildContextHash(root: string): string {
  const hash = createHash("sha256");
  const inputs = [DOCKERFILE, ...copySources(readFileSync(join(root, DOCKERFILE), "utf8"))];
  for (const input of inputs) {
    for (const file of files(root, input)) {
      hash.update(relative(root, join(root, file))).update("\0").update(readFileSync(join(root, file))).update("\0");
    }
  }
  return hash.digest("hex").slice(0, 16);
}

export const RESIZER_REPOSITORY = "image-origin/resizer";

export interface ResizerImageArgs {
  projectRoot: string;
  provider: docker.Provider;
}

export class ResizerImage extends pulumi.ComponentResource {
  readonly ref: string;
  readonly image: docker.Image;

  constructor(name: string, args: ResizerImageArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("image-origin:cluster:ResizerImage", name, {}, opts);
    this.ref = `${RESIZER_REPOSITORY}:${buildContextHash(args.projectRoot)}`;
    this.image = new docker.Image(
      name,
      {
        imageName: this.ref,
        build: {
          context: args.projectRoot,
          dockerfile: join(args.projectRoot, DOCKERFILE),
          platform: "linux/amd64",
        },
        // Hosts have no registry: the image is streamed to each of them (ImageHost).
        skipPush: true,
      },
      { parent: this, provider: args.provider },
    );
    this.registerOutputs({ ref: this.ref });
  }
}
