// The thin Pulumi shell: a validated spec -> plan -> rendered files -> resources. All
// decisions were taken by the pure modules; this only wires resources and outputs.
import { join } from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { validateSupplied } from "./certs.js";
import { signingKeys } from "../resizer/src/settings.js";
import { ConfigError, type ClusterSpec } from "./config.js";
import { scrapeJobs, scrapeTargets, type ScrapeJob } from "./monitoring/targets.js";
import { instanceFiles, vipFiles } from "./render.js";
import { hostUrl } from "./address.js";
import { certificatePaths, planCluster, type ClusterPlan, type HostPlan, HEALTH, VIP_OPS } from "./topology.js";
import type { ImageDelivery } from "./components/dockerEngine.js";
import type { HostPki } from "./components/acmeAgents.js";
import { AcmeIssuer } from "./components/acmeIssuer.js";
import { CERTIFICATE_TYPE, Certificate, certificateName, type CertificateOutputs } from "./components/certificate.js";
import { TlsSyncPki } from "./components/tlsSyncPki.js";
import { ImageHost, type ImageSource } from "./components/imageHost.js";
import { RESIZER_BUILD, resizerImageRef } from "./components/resizerImage.js";
import { shellQuote } from "./remote.js";
import { VipHost } from "./components/vipHost.js";
import { VIP_BUILD, vipImageRef } from "./components/vipImage.js";

export const projectRoot = join(__dirname, "..");

export interface ClusterInputs {
  spec: ClusterSpec;
  /**
   * The decrypted secret config. Read once, validated by `preflight` before any resource
   * exists, and from then on only passed on wrapped as Pulumi secrets.
   */
  secrets: {
    tlsPrivateKeys: Record<string, string>;
    acmeDnsCredentials: Record<string, string>;
    /** HMAC keys of signed URLs; the first signs. */
    resizerSigningKeys?: string[];
  };
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
      containers: { master: pulumi.Output<string>; slaves: pulumi.Output<string>[]; resizers: pulumi.Output<string[]>; ops: pulumi.Output<string> };
      resizerImageId: pulumi.Output<string>;
      /** Where Prometheus scrapes the host: its ops listener, and the paths there. */
      ops: { target: string; paths: string[] };
    }
  >;
  /**
   * What the L4 must do (registration for a hardware one). With `mode: haproxy`, `haproxy`
   * says where the software L4 runs: per L4 host its containers and its stats and metrics
   * (for the monitoring's scrape configuration).
   */
  vip: (Omit<NonNullable<ClusterPlan["vip"]>, "haproxy"> & { haproxy?: VipOutputs }) | null;
  resizerImage: { ref: string };
  rollout: ClusterSpec["rollout"];
  certificates: Record<string, CertificateOutputs>;
  /** Prometheus' scrape_configs for the cluster (monitoring/prometheus.yml has the same). */
  monitoring: { scrapeConfigs: ScrapeJob[] };
}

/** The software L4 as the stack output shows it (`vip.haproxy`). */
export interface VipOutputs {
  hosts: {
    name: string;
    address: string;
    priority: number;
    containers: { haproxy: string; keepalived: string };
    /** HAProxy's stats page, Prometheus metrics and liveness on the host's ops port. */
    stats: string;
    metrics: string;
    health: string;
  }[];
  image: string;
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
    if (cert.mode === "acme" && cert.challenge === "dns-01" && !(id in inputs.secrets.acmeDnsCredentials)) {
      problems.push(
        `acmeDnsCredentials.${id}: certificate "${id}" uses dns-01 with the ${cert.dnsPlugin} plugin but its credentials are not set ` +
          `(pulumi config set --secret --path 'acmeDnsCredentials.${id}' -- "$(cat ${cert.dnsPlugin}.ini)")`,
      );
    }
  }
  // A secret nobody uses is a leftover or a typo: say so rather than ignore it.
  const unused = (key: "tlsPrivateKeys" | "acmeDnsCredentials", wanted: (c: ClusterSpec["certificates"][string]) => boolean, what: string) => {
    for (const id of Object.keys(inputs.secrets[key])) {
      const cert = spec.certificates[id];
      if (cert === undefined || !wanted(cert)) {
        const users = Object.entries(spec.certificates).filter(([, c]) => wanted(c)).map(([k]) => k);
        problems.push(`${key}.${id}: there is no ${what} certificate "${id}" to use it (${what}: ${users.length ? users.join(", ") : "none"}); remove the secret`);
      }
    }
  };
  // Allowed: a stack watched only through `npm run status` (ssh). Worth saying, not refusing.
  if (spec.ops.allow.length === 0 && spec.hosts.some((h) => h.docker.startsWith("ssh://"))) {
    warnings.push("ops.allow is empty: the hosts' ops listeners answer no Prometheus (set your monitoring network's CIDR; npm run status still reads them through ssh)");
  }
  unused("tlsPrivateKeys", (c) => c.mode === "supplied", "supplied");
  unused("acmeDnsCredentials", (c) => c.mode === "acme" && c.challenge === "dns-01", "dns-01");
  const keys = inputs.secrets.resizerSigningKeys ?? [];
  const checked = signingKeys.safeParse(keys);
  if (!checked.success) for (const i of checked.error.issues) problems.push(`resizerSigningKeys${i.path.map((p) => `[${String(p)}]`).join("")}: ${i.message}`);
  if (spec.resizer.signing.required && keys.length === 0) {
    problems.push(
      "resizerSigningKeys: resizer.signing.required needs at least one key " +
        `(pulumi config set --secret --path 'resizerSigningKeys[0]' -- "$(openssl rand -base64 32)")`,
    );
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

  // Supplied and self-signed certificates go into the masters' uploads, so they come first;
  // acme certificates are issued on the hosts and come after them (below).
  const certificates: Record<string, Certificate> = Object.fromEntries(
    plan.certificates.filter((c) => c.mode !== "acme").map((certPlan) => {
      const certSpec = spec.certificates[certPlan.id]!;
      const key = inputs.secrets.tlsPrivateKeys[certPlan.id];
      return [
        certPlan.id,
        new Certificate(certificateName(certPlan.id), {
          plan: certPlan,
          spec: certSpec,
          paths: certificatePaths(plan, certPlan.id),
          // Secret from here on: it reaches state and the master's upload only encrypted.
          ...(certSpec.mode === "supplied" && key !== undefined && { suppliedKey: pulumi.secret(key) }),
        }),
      ];
    }),
  );

  // Images: from the operator's registry when configured; otherwise each host's deliveries
  // stream them from the operator's engine, which builds the resizer from this checkout or
  // pulls nginx (and certbot, with acme certificates) when it lacks them.
  const acmeRefs = plan.acme?.images ?? [];
  const resizerRef = spec.images.resizer ?? resizerImageRef(projectRoot);
  const images: ImageSource =
    spec.images.resizer !== undefined
      ? { kind: "registry", nginx: spec.images.nginx, resizer: resizerRef, acme: acmeRefs }
      : { kind: "push", nginx: spec.images.nginx, resizer: resizerRef, acme: acmeRefs, resizerBuild: { kind: "build", ...RESIZER_BUILD } };

  // A changed subnet replaces every host's network, and the engine deletes a network's
  // containers before it. Serial rollout takes the hosts one at a time (ImageHost); with
  // `parallel` and several hosts that would empty the VIP, so `up` stops here first.
  const networkGuard =
    spec.rollout === "parallel" && plan.hosts.length > 1
      ? new command.local.Command("network-guard", {
          environment: { SUBNET: spec.network.subnet },
          // Runs only when the subnet changed (an update), never on the first `up`.
          update: [
            `echo ${shellQuote(
              `network.subnet changed to ${spec.network.subnet}: with rollout: parallel every host's containers would be deleted at once, emptying the VIP. ` +
                "Run this change host by host: `pulumi config set rollout serial`, `pulumi up`, then set rollout back (RUNBOOK.md#network-change).",
            )} >&2`,
            "exit 1",
          ].join("\n"),
        })
      : undefined;

  // acme with several hosts: the internal CA of the issuer's bundle channel.
  const issuerPlan = plan.hosts.find((h) => h.name === plan.acme?.issuer);
  const followers = plan.hosts.filter((h) => h.acme?.role === "follower");
  const pki =
    issuerPlan !== undefined && followers.length > 0
      ? new TlsSyncPki("tls-sync", { issuer: { name: issuerPlan.name, address: issuerPlan.address }, followers: followers.map((f) => ({ name: f.name, address: f.address })) })
      : undefined;
  const hostPki = (name: string): HostPki | undefined =>
    pki && {
      caCertPem: pki.caCertPem,
      ...(name === issuerPlan?.name ? { server: pki.server } : {}),
      ...(pki.clients[name] ? { client: pki.clients[name] } : {}),
    };

  const hosts: ClusterOutputs["hosts"] = {};
  const opsTargets = scrapeTargets(plan);
  const built: ImageHost[] = [];
  let previous: ImageHost | undefined;
  // Secret from here on: the keys reach the resizers' environment only encrypted.
  const keys = inputs.secrets.resizerSigningKeys ?? [];
  const resizerSecrets = keys.length > 0 ? { signingKeys: pulumi.secret(JSON.stringify(keys)) } : undefined;
  for (const hostPlan of plan.hosts) {
    const host: ImageHost = new ImageHost(hostPlan.name, {
      plan: hostPlan,
      ...(resizerSecrets && { resizerSecrets }),
      images,
      files: instanceFiles(hostPlan),
      certificates,
      ...(plan.acme && { acme: { cluster: plan.acme, ...(hostPki(hostPlan.name) && { pki: hostPki(hostPlan.name)! }) } }),
      healthCheck: {
        path: HEALTH.path,
        expectStatus: HEALTH.status,
        timeoutSeconds: spec.rolloutTimeoutSeconds,
        ...(spec.vip && { l4: spec.vip.healthCheck }),
      },
      ...(spec.rollout === "serial" && previous !== undefined && { after: previous.healthGate }),
      ...(previous && { previousEngine: previous.engine }),
      ...(networkGuard && { networkGuard }),
    });
    previous = host;
    built.push(host);
    hosts[hostPlan.name] = {
      address: hostPlan.address,
      healthCheckPorts: healthPorts(hostPlan),
      containers: host.containers,
      resizerImageId: host.resizerImageId,
      ops: opsTargets[hostPlan.name]!,
    };
  }

  // acme: the renewers run on the issuer once every master is up and forwards challenges
  // (the first validation may reach any host).
  if (plan.acme !== undefined) {
    const site = issuerPlan && built[plan.hosts.indexOf(issuerPlan)]?.acmeSite;
    if (site === undefined) throw new Error("acme certificates without an issuer host");
    const acmeIssuer = new AcmeIssuer(`${site.plan.name}-acme-issuer`, {
      cluster: plan.acme,
      site,
      // Secret from here on: it reaches the renewer's environment only encrypted.
      dnsCredentials: Object.fromEntries(Object.entries(inputs.secrets.acmeDnsCredentials).map(([id, text]) => [id, pulumi.secret(text)])),
      after: built.map((h) => h.healthGate),
      gateName: (id) => `${certificateName(id)}-issued`,
      // Before the issuer component, each renewer was a child of its certificate's component.
      formerParent: (id) => pulumi.createUrn(certificateName(id), CERTIFICATE_TYPE),
    });
    for (const acmeCert of plan.acme.certificates) {
      certificates[acmeCert.id] = new Certificate(certificateName(acmeCert.id), {
        plan: plan.certificates.find((c) => c.id === acmeCert.id)!,
        spec: spec.certificates[acmeCert.id]!,
        paths: certificatePaths(plan, acmeCert.id),
        acme: { certificate: acmeCert, issuer: site.plan.name, issuance: acmeIssuer.issuance[acmeCert.id]! },
      });
    }
  }

  // The software L4 (`vip.mode: haproxy`), after every image host is healthy: a first
  // deployment sends traffic to hosts that serve, and a new host is admitted after its gate.
  // One L4 host at a time, as the image hosts: the VIP always has one HAProxy that serves.
  let vipOutputs: VipOutputs | undefined;
  const haproxy = plan.vip?.haproxy;
  if (plan.vip !== undefined && haproxy !== undefined) {
    const vipRef = spec.images.vip ?? vipImageRef(projectRoot);
    const registry = spec.images.vip !== undefined;
    let after: pulumi.Resource[] = built.map((h) => h.healthGate);
    let previousEngine: VipHost["engine"] | undefined;
    for (const l4 of haproxy.hosts) {
      // Each L4 host's delivery after the previous one's: the operator's engine builds the image once.
      const delivery: ImageDelivery = registry ? { kind: "registry" } : { kind: "push", ...(previousEngine && { after: previousEngine.delivered }) };
      const host: VipHost = new VipHost(
        l4.name,
        { plan: l4, image: { ref: vipRef, origin: registry ? { kind: "pull" } : { kind: "build", ...VIP_BUILD }, delivery }, files: vipFiles(plan.vip, l4), timeoutSeconds: spec.rolloutTimeoutSeconds },
        { dependsOn: after },
      );
      after = [host.healthGate];
      previousEngine = host.engine;
    }
    vipOutputs = {
      hosts: haproxy.hosts.map((l4) => {
        const stats = l4.haproxy.publish?.find((p) => p.service === "stats");
        const url = (path: string) => (stats ? hostUrl("http", stats.address, stats.port, path) : "");
        return {
          name: l4.name,
          address: l4.address,
          priority: l4.priority,
          containers: { haproxy: l4.haproxy.name, keepalived: l4.keepalived.name },
          stats: url(VIP_OPS.stats),
          metrics: url(VIP_OPS.metrics),
          health: url(VIP_OPS.health),
        };
      }),
      image: vipRef,
    };
  }
  const { haproxy: _vipPlan, ...vipRegistration } = plan.vip ?? {};

  return {
    hosts,
    vip: plan.vip === undefined ? null : { ...(vipRegistration as Omit<NonNullable<ClusterPlan["vip"]>, "haproxy">), ...(vipOutputs && { haproxy: vipOutputs }) },
    resizerImage: { ref: resizerRef },
    rollout: spec.rollout,
    certificates: Object.fromEntries(Object.entries(certificates).map(([id, c]) => [id, c.outputs])),
    monitoring: { scrapeConfigs: scrapeJobs(plan) },
  };
}
