// A Docker host's engine as the program uses it: the provider every resource on that host
// goes through, and the images its containers run, delivered to it and named by the id
// the engine reports. Any kind of host (image hosts today) builds on one.
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { deliverImagesCommand, deliveredIds } from "../remote.js";
import type { HostPlan } from "../topology.js";

/** An image the host needs; `name` goes into resource names (`<host>-<name>-image`). */
export interface EngineImage {
  name: string;
  ref: string;
}

/** How images reach the engine. */
export type ImageDelivery =
  /** Built or pulled on the operator's engine (after `ready`), then streamed to the host (closed network). */
  | { kind: "push"; ready: pulumi.Resource[] }
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
    } else {
      const refs = args.images.map((i) => i.ref);
      const delivery = new command.local.Command(
        `${host.name}-images`,
        { create: deliverImagesCommand(host, refs), triggers: refs },
        { parent: this, dependsOn: args.delivery.ready, aliases },
      );
      const ids = delivery.stdout.apply((out) => deliveredIds(out, refs));
      this.imageIds = Object.fromEntries(refs.map((ref) => [ref, ids.apply((byRef) => byRef[ref]!)]));
      this.ready = [delivery];
    }
    this.registerOutputs({ imageIds: this.imageIds });
  }
}
