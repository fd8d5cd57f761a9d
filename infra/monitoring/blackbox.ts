// The blackbox exporter's modules (monitoring/blackbox.yml): the L4's health check as it
// asks it, over HTTP and HTTPS, and a TLS handshake per certificate, by the name it
// covers. Self-signed certificates cannot be verified: their probes still read the expiry.
import type { ClusterPlan } from "../topology.js";
import { MODULES } from "./targets.js";

/** The name a probe sends as SNI for a certificate: the first name its domains answer. */
function serverName(plan: ClusterPlan, id: string): string {
  const names = plan.certificates.find((c) => c.id === id)?.names ?? [];
  const exact = names.find((n) => !n.startsWith("*.")) ?? names[0]?.replace(/^\*\./, "ops-probe.");
  if (exact === undefined) throw new Error(`certificate "${id}" has no name to probe`);
  return exact;
}

export function blackboxDocument(plan: ClusterPlan): { modules: Record<string, unknown> } {
  const timeout = `${plan.vip?.healthCheck.timeoutSeconds ?? 3}s`;
  const tlsConfig = (id: string) => ({
    server_name: serverName(plan, id),
    ...(plan.certificates.find((c) => c.id === id)?.mode === "selfSigned" && { insecure_skip_verify: true }),
  });
  const http = { method: "GET", valid_status_codes: [200], follow_redirects: false, preferred_ip_protocol: "ip4", ip_protocol_fallback: true };
  // The L4's HTTPS check lands on the default server; its certificate is the one to verify.
  const host = plan.hosts[0];
  const main = host?.master.servers.find((s) => s.default && s.tls) ?? host?.master.servers.find((s) => s.tls);
  return {
    modules: {
      [MODULES.healthHttp]: { prober: "http", timeout, http },
      ...(main?.tls && { [MODULES.healthHttps]: { prober: "http", timeout, http: { ...http, fail_if_not_ssl: true, tls_config: tlsConfig(main.tls.certificate) } } }),
      ...Object.fromEntries(
        plan.certificates.map((c) => [MODULES.tls(c.id), { prober: "tcp", timeout, tcp: { tls: true, preferred_ip_protocol: "ip4", ip_protocol_fallback: true, tls_config: tlsConfig(c.id) } }]),
      ),
    },
  };
}
