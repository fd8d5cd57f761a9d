// ACME planning (acme certificates only): which host issues, what each certificate's
// renewer runs against, and per host the bootstrap one-shot, the sync agent and its
// sources, the issuer's renewers and publisher, and where followers forward http-01
// challenges. Addresses and paths are asked of the host's `Placement`. Pure.
import { hostPort } from "../address.js";
import { TLS_SYNC_PORT, type ClusterSpec, type Host } from "../config.js";
import { instanceName } from "./names.js";
import type { Placement } from "./placement.js";
import type { AcmeCertificatePlan, AcmePlan, CertificatePlan, HostAcmePlan, MasterPlan } from "./types.js";

/** Let's Encrypt's ACME directories. */
export const LETS_ENCRYPT = {
  production: "https://acme-v02.api.letsencrypt.org/directory",
  staging: "https://acme-staging-v02.api.letsencrypt.org/directory",
} as const;

/** certbot's image for a DNS plugin: same registry and tag, repository dns-<plugin>. */
export function certbotPluginImage(certbot: string, plugin: string): string {
  const match = /^(.*\/)?[^/:@]+((?::[^/@]+)?(?:@sha256:[a-f0-9]+)?)$/.exec(certbot);
  if (!match) throw new Error(`not an image reference: ${certbot}`);
  return `${match[1] ?? ""}dns-${plugin}${match[2] ?? ""}`;
}

/** How often a host's sync agent looks for a new bundle. */
export const TLS_SYNC_INTERVAL_SECONDS = 60;

/** The cluster's ACME plan: the issuer (the first host) and every acme certificate; undefined without any. */
export function planAcme(spec: ClusterSpec, certs: Map<string, CertificatePlan>): AcmePlan | undefined {
  const certificates: AcmeCertificatePlan[] = [];
  for (const [id, cert] of Object.entries(spec.certificates)) {
    if (cert.mode !== "acme") continue;
    certificates.push({
      id,
      names: certs.get(id)?.names ?? [],
      email: cert.email,
      server: cert.server ?? (cert.staging ? LETS_ENCRYPT.staging : LETS_ENCRYPT.production),
      challenge: cert.challenge,
      ...(cert.dnsPlugin !== undefined && { dnsPlugin: cert.dnsPlugin }),
      renewBeforeDays: cert.renewBeforeDays,
      image: cert.challenge === "dns-01" && cert.dnsPlugin !== undefined ? certbotPluginImage(spec.images.certbot, cert.dnsPlugin) : spec.images.certbot,
    });
  }
  if (certificates.length === 0) return undefined;
  const images = [...new Set([spec.images.certbot, ...certificates.map((c) => c.image)])];
  return { issuer: spec.hosts[0]!.name, certificates, image: spec.images.certbot, images };
}

/** The issuer's host in the spec. */
function issuerOf(spec: ClusterSpec, acme: AcmePlan): Host {
  return spec.hosts.find((h) => h.name === acme.issuer)!;
}

/**
 * Followers send http-01 requests they cannot answer to the issuer's master (published on
 * the issuer's host), since the L4 may send the validation request to any host.
 */
export function acmeFallback(spec: ClusterSpec, host: Host, place: Placement, acme: AcmePlan): Pick<MasterPlan, "acmeFallback"> {
  if (host.name === acme.issuer || !acme.certificates.some((c) => c.challenge === "http-01")) return {};
  return { acmeFallback: place.reach(issuerOf(spec, acme), spec.master.httpPort) };
}

/** A host's ACME containers: bootstrap, sync agent, and on the issuer its renewers and publisher. */
export function planHostAcme(spec: ClusterSpec, host: Host, master: MasterPlan, acme: AcmePlan, place: Placement): HostAcmePlan {
  const dir = master.paths.acmeDir;
  const outboxDir = `${dir}/outbox`;
  const role = host.name === acme.issuer ? "issuer" : "follower";
  const followers = spec.hosts.filter((h) => h.name !== acme.issuer);
  // Where followers fetch bundles: the issuer's publisher (published on its host address).
  const url = (id: string) => {
    const at = place.reach(issuerOf(spec, acme), TLS_SYNC_PORT);
    return `https://${hostPort(at.address, at.port)}/${id}.pem`;
  };
  const sources = acme.certificates.map(({ id }) => ({
    id,
    from: role === "issuer" ? ({ kind: "file", path: `${outboxDir}/${id}.pem` } as const) : ({ kind: "url", url: url(id) } as const),
  }));
  const initName = instanceName.acmeInit(host.name);
  const syncName = instanceName.tlsSync(host.name);
  const publishName = instanceName.tlsPublish(host.name);
  const published = place.publish(TLS_SYNC_PORT);
  return {
    role,
    dir,
    webroot: master.paths.acmeWebroot,
    liveDir: `${dir}/live`,
    outboxDir,
    certbotDir: `${dir}/certbot`,
    statusDir: `${dir}/status`,
    init: { name: initName, runDir: place.acmeRunDir(initName) },
    sync: {
      name: syncName,
      runDir: place.acmeRunDir(syncName),
      intervalSeconds: TLS_SYNC_INTERVAL_SECONDS,
      ...place.syncAgent(master.paths.pid, role === "follower"),
      sources,
    },
    renewers:
      role === "issuer"
        ? acme.certificates.map(({ id }) => {
            const name = instanceName.renewer(host.name, id);
            return { id, name, runDir: place.acmeRunDir(name) };
          })
        : [],
    ...(role === "issuer" &&
      followers.length > 0 && {
        publisher: {
          name: publishName,
          listen: { address: place.bind, port: place.port(TLS_SYNC_PORT) },
          ...(published && { publish: published }),
          allow: followers.map(place.addressOf),
          runDir: place.acmeRunDir(publishName),
          accessLog: place.accessLog(place.acmeRunDir(publishName)),
        },
      }),
  };
}
