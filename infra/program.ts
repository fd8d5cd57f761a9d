// The thin Pulumi shell: a validated spec -> plan -> rendered files -> resources. All
// decisions were taken by the pure modules; this only wires resources and outputs.
import { join } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, type ClusterSpec } from "./config.js";
import { instanceFiles } from "./render.js";
import { planCluster, type ClusterPlan, type HostPlan } from "./topology.js";
import { Certificate } from "./components/certificate.js";
import { ImageHost, type ImageSource } from "./components/imageHost.js";
import { ResizerImage } from "./components/resizerImage.js";

export const projectRoot = join(__dirname, "..");

export interface ClusterInputs {
  spec: ClusterSpec;
  /** Ids present under `image-origin:tlsPrivateKeys` (checked before anything is created). */
  privateKeyIds: string[];
  /** The secret map itself; values stay secret Outputs. */
  privateKeys: pulumi.Output<Record<string, string>> | undefined;
}

/** What `pulumi stack output` shows; shape documented in the README. */
export interface ClusterOutputs {
  hosts: Record<
    string,
    {
      address: string;
      healthCheckPorts: number[];
      containers: { master: pulumi.Output<string>; slaves: pulumi.Output<string>[]; resizers: pulumi.Output<string[]> };
      resizerImageId: pulumi.Output<string>;
    }
  >;
  vip: ClusterPlan["vip"] | null;
  resizerImage: { ref: string };
  rollout: ClusterSpec["rollout"];
}

/** Problems only the program can see (secrets, unimplemented modes), before any resource. */
export function preflight(inputs: ClusterInputs): void {
  const problems: string[] = [];
  for (const [id, cert] of Object.entries(inputs.spec.certificates)) {
    if (cert.mode === "supplied" && !inputs.privateKeyIds.includes(id)) {
      problems.push(
        `tlsPrivateKeys.${id}: certificate "${id}" is supplied but its private key is not set ` +
          `(pulumi config set --secret --path 'tlsPrivateKeys.${id}' -- "$(cat key.pem)")`,
      );
    }
    if (cert.mode === "acme") problems.push(`certificates.${id}.mode: acme is not available in this version of the program`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

function healthPorts(host: HostPlan): number[] {
  const p = host.master.publish;
  return p === undefined ? [] : [p.http, ...(p.https !== undefined ? [p.https] : [])];
}

export function deployCluster(inputs: ClusterInputs): ClusterOutputs {
  preflight(inputs);
  const { spec } = inputs;
  const plan = planCluster(spec, { kind: "container" });

  const certificates = Object.fromEntries(
    plan.certificates.map((certPlan) => {
      const certSpec = spec.certificates[certPlan.id]!;
      const suppliedKey = certSpec.mode === "supplied" ? inputs.privateKeys?.apply((keys) => keys[certPlan.id] ?? "") : undefined;
      return [certPlan.id, new Certificate(`cert-${certPlan.id}`, { plan: certPlan, spec: certSpec, ...(suppliedKey && { suppliedKey }) })];
    }),
  );

  // Images: from the operator's registry when configured; otherwise built and pulled on
  // the operator's engine and streamed to every host.
  let images: ImageSource;
  let resizerRef: string;
  if (spec.images.resizer !== undefined) {
    resizerRef = spec.images.resizer;
    images = { kind: "registry", nginx: spec.images.nginx, resizer: resizerRef };
  } else {
    const operatorEngine = new docker.Provider("operator-docker", {});
    const resizer = new ResizerImage("resizer-image", { projectRoot, provider: operatorEngine });
    const nginx = new docker.RemoteImage("nginx-image", { name: spec.images.nginx, keepLocally: true }, { provider: operatorEngine });
    resizerRef = resizer.ref;
    images = { kind: "push", nginx: spec.images.nginx, resizer: resizerRef, ready: [resizer, nginx] };
  }

  const hosts: ClusterOutputs["hosts"] = {};
  let previous: ImageHost | undefined;
  for (const hostPlan of plan.hosts) {
    const host: ImageHost = new ImageHost(hostPlan.name, {
      plan: hostPlan,
      images,
      files: instanceFiles(hostPlan),
      certificates,
      healthCheck: {
        path: spec.vip?.healthCheck.path ?? "/healthz",
        expectStatus: spec.vip?.healthCheck.expectStatus ?? 200,
        timeoutSeconds: spec.rolloutTimeoutSeconds,
      },
      ...(spec.rollout === "serial" && previous !== undefined && { after: previous.healthGate }),
    });
    previous = host;
    hosts[hostPlan.name] = {
      address: hostPlan.address,
      healthCheckPorts: healthPorts(hostPlan),
      containers: host.containers,
      resizerImageId: host.resizerImageId,
    };
  }

  return { hosts, vip: plan.vip ?? null, resizerImage: { ref: resizerRef }, rollout: spec.rollout };
}
