// The thin Pulumi shell: a validated spec -> plan -> rendered files -> resources. All
// decisions were taken by the pure modules; this only wires resources and outputs.
import { join } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { validateSupplied } from "./certs.js";
import { ConfigError, type ClusterSpec } from "./config.js";
import { instanceFiles } from "./render.js";
import { certificatePaths, planCluster, type ClusterPlan, type HostPlan } from "./topology.js";
import { Certificate, type CertificateOutputs } from "./components/certificate.js";
import { ImageHost, type ImageSource } from "./components/imageHost.js";
import { ResizerImage } from "./components/resizerImage.js";

export const projectRoot = join(__dirname, "..");

export interface ClusterInputs {
  spec: ClusterSpec;
  /**
   * The decrypted secret config. Read once, validated by `preflight` before any resource
   * exists, and from then on only passed on wrapped as Pulumi secrets.
   */
  secrets: { tlsPrivateKeys: Record<string, string> };
  /** The clock certificate validity is judged by (tests pin it). */
  now?: Date;
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
  certificates: Record<string, CertificateOutputs>;
}

/**
 * Problems only the program can see (secrets, certificates), found before any resource is
 * registered: a bad supplied pair stops the run with nothing created. Returns warnings
 * (e.g. a supplied certificate close to expiry) for `pulumi preview` to show.
 */
export function preflight(inputs: ClusterInputs): { warnings: string[] } {
  const { spec } = inputs;
  const problems: string[] = [];
  const warnings: string[] = [];
  const plans = new Map(planCluster(spec).certificates.map((c) => [c.id, c]));
  for (const [id, cert] of Object.entries(spec.certificates)) {
    if (cert.mode === "supplied") {
      const report = validateSupplied({
        id,
        certificatePem: cert.certificate,
        privateKeyPem: inputs.secrets.tlsPrivateKeys[id],
        names: plans.get(id)?.names ?? [],
        now: inputs.now ?? new Date(),
      });
      problems.push(...report.problems);
      warnings.push(...report.warnings);
    }
    if (cert.mode === "acme") problems.push(`certificates.${id}.mode: acme is not available in this version of the program`);
  }
  for (const id of Object.keys(inputs.secrets.tlsPrivateKeys)) {
    if (spec.certificates[id]?.mode !== "supplied") {
      const supplied = Object.entries(spec.certificates).filter(([, c]) => c.mode === "supplied").map(([k]) => k);
      problems.push(`tlsPrivateKeys.${id}: there is no supplied certificate "${id}" to use it (supplied: ${supplied.length ? supplied.join(", ") : "none"}); remove the secret`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { warnings };
}

function healthPorts(host: HostPlan): number[] {
  const p = host.master.publish;
  return p === undefined ? [] : [p.http, ...(p.https !== undefined ? [p.https] : [])];
}

export function deployCluster(inputs: ClusterInputs): ClusterOutputs {
  const { warnings } = preflight(inputs);
  for (const warning of warnings) pulumi.log.warn(warning);
  const { spec } = inputs;
  const plan = planCluster(spec, { kind: "container" });

  const certificates = Object.fromEntries(
    plan.certificates.map((certPlan) => {
      const certSpec = spec.certificates[certPlan.id]!;
      const key = inputs.secrets.tlsPrivateKeys[certPlan.id];
      return [
        certPlan.id,
        new Certificate(`cert-${certPlan.id}`, {
          plan: certPlan,
          spec: certSpec,
          paths: certificatePaths(plan, certPlan.id),
          // Secret from here on: it reaches state and the master's upload only encrypted.
          ...(certSpec.mode === "supplied" && key !== undefined && { suppliedKey: pulumi.secret(key) }),
        }),
      ];
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

  return {
    hosts,
    vip: plan.vip ?? null,
    resizerImage: { ref: resizerRef },
    rollout: spec.rollout,
    certificates: Object.fromEntries(Object.entries(certificates).map(([id, c]) => [id, c.outputs])),
  };
}
