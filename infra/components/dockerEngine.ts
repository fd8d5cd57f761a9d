// A Docker host's engine as the program uses it: the provider every resource on that host
// goes through, and the images its containers run, delivered to it and named by the id
// the engine reports. Any kind of host (image hosts today) builds on one.
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { deliverImageCommand, deliveredId, type ImageOrigin } from "../remote.js";
import type { HostPlan } from "../topology.js";
import { RERUN } from "./rolling.js";

/**
 * An image the host needs; `name` goes into resource names (`<host>-images-<name>` when
 * delivered, `<host>-<name>-image` when pulled by the host); `origin` is where the
 * operator's engine gets it (delivery only).
 */
export interface EngineImage {
  name: string;
  ref: string;
  origin: ImageOrigin;
}

/** How images reach the engine. */
export type ImageDelivery =
  /**
   * Streamed from the operator's engine (closed network), each image by a command of its
   * own. `after`: the previous host's delivery of the same ref, so the operator's engine
   * builds or pulls an image it lacks once, not once per host at the same time.
   */
  | { kind: "push"; after?: Record<string, pulumi.Resource> }
  /** Pulled by the host itself from a registry it can reach. */
  | { kind: "registry" };

export interface DockerEngineArgs {
  host: Pick<HostPlan, "name" | "docker" | "sshOpts">;
  /** In delivery order. */
  images: EngineImage[];
  delivery: ImageDelivery;
  /**
   * Where this engine's resources were registered before there was a DockerEngine component
   * (an ImageHost registered them itself): aliased there, so no existing resource moves.
   */
  formerParent?: pulumi.Resource;
}

export class DockerEngine extends pulumi.ComponentResource {
  /** Every resource on this host uses it. */
  readonly provider: docker.Provider;
  /** Image id per ref, as this engine reports it (containers name images by id). */
  readonly imageIds: Record<string, pulumi.Output<string>>;
  /** Done when every image is on the engine. */
  readonly ready: pulumi.Resource[];
  /** The resource that put each ref on the engine (a delivery, or the host's own pull). */
  readonly delivered: Record<string, pulumi.Resource>;

  constructor(name: string, args: DockerEngineArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("image-origin:cluster:DockerEngine", name, {}, opts);
    const { host } = args;
    const aliases = args.formerParent ? [{ parent: args.formerParent }] : [];

    this.provider = new docker.Provider(`${host.name}-docker`, { host: host.docker, ...(host.sshOpts && { sshOpts: host.sshOpts }) }, { parent: this, aliases });

    if (args.delivery.kind === "registry") {
      const pulled = args.images.map(
        (image) => new docker.RemoteImage(`${host.name}-${image.name}-image`, { name: image.ref, keepLocally: true }, { parent: this, provider: this.provider, aliases }),
      );
      this.imageIds = Object.fromEntries(args.images.map((image, i) => [image.ref, pulled[i]!.imageId]));
      this.ready = pulled;
      this.delivered = Object.fromEntries(args.images.map((image, i) => [image.ref, pulled[i]!]));
    } else {
      // One command per image: each container takes its id from its own image's delivery,
      // so a new resizer tag leaves the nginx ids known in a preview (and nginx untouched).
      const after = args.delivery.after ?? {};
      const deliveries = args.images.map(
        (image) =>
          new command.local.Command(
            `${host.name}-images-${image.name}`,
            // Runs again when the ref changes, as a new command (rolling.ts RERUN).
            { create: deliverImageCommand(host, image.ref, image.origin), triggers: [image.ref] },
            { parent: this, ...(after[image.ref] && { dependsOn: [after[image.ref]!] }), ...RERUN },
          ),
      );
      this.imageIds = Object.fromEntries(args.images.map((image, i) => [image.ref, deliveries[i]!.stdout.apply((out) => deliveredId(out, image.ref))]));
      this.ready = deliveries;
      this.delivered = Object.fromEntries(args.images.map((image, i) => [image.ref, deliveries[i]!]));
    }
    this.registerOutputs({ imageIds: this.imageIds });
  }
}
