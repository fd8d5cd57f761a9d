// The resizer image, built once on the operator's engine from resizer/Dockerfile and
// tagged by the content of its build inputs, so the tag (and every host's container)
// changes exactly when the code or the lockfile does.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** Everything `resizer/Dockerfile` copies into the image (the build context is the repo root). */
const BUILD_INPUTS = ["package.json", "package-lock.json", ".dockerignore", "resizer"];
const SKIP = new Set(["node_modules", "dist"]);

function* files(root: string, path: string): Generator<string> {
  const full = join(root, path);
  if (statSync(full).isDirectory()) {
    for (const entry of readdirSync(full).sort()) if (!SKIP.has(entry)) yield* files(root, join(path, entry));
  } else {
    yield path;
  }
}

/** sha256 over the build inputs' relative paths and bytes; the first 16 hex digits. */
export function buildContextHash(root: string): string {
  const hash = createHash("sha256");
  for (const input of BUILD_INPUTS) {
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
          dockerfile: join(args.projectRoot, "resizer/Dockerfile"),
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
