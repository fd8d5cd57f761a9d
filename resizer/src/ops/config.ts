// The ops agent's configuration: one zod schema shared by the agent (parsed from its
// environment) and by the cluster plan (infra/topology/ops.ts builds it), so what the
// plan decides reaches the process through `toOpsEnv` and nothing else. Pure.
import { isIP } from "node:net";
import { z } from "zod";
import { OPS_CONFIG_ENV } from "./names.js";

export { OPS_CONFIG_ENV };

/** Where the agent answers Prometheus, the status view and its own health check. */
export const OPS_PATHS = {
  /** nginx metrics of the host's master and slaves (access logs and stub_status), TLS, ACME. */
  metrics: "/metrics",
  /** `/metrics/<replica>`: one resizer replica's own metrics, fetched when scraped. */
  resizerMetrics: (role: string) => `/metrics/${role}`,
  health: "/healthz",
} as const;

/**
 * The agent's commands in the resizer image (relative to its WORKDIR, resizer/Dockerfile):
 * serve, and GET paths from the running agent on loopback (health check, `npm run status`).
 */
export const OPS_COMMANDS = {
  serve: ["node", "--enable-source-maps", "dist/ops/main.js"],
  get: (...paths: string[]) => ["node", "dist/ops/get.js", ...paths],
} as const;

const ip = z.string().refine((v) => isIP(v) !== 0, "an IP address");
const port = z.number().int().min(1).max(65535);
const httpUrl = z.url({ protocol: /^http$/ });
/** An IPv4 or IPv6 CIDR (`10.0.0.0/8`, `2001:db8::/32`) or a single address. */
export const cidr = z
  .string()
  .refine((v) => {
    const [addr = "", len, ...rest] = v.split("/");
    if (rest.length > 0 || isIP(addr) === 0) return false;
    if (len === undefined) return true;
    const max = isIP(addr) === 4 ? 32 : 128;
    return /^\d{1,3}$/.test(len) && Number(len) <= max;
  }, "an IP address or CIDR such as 10.20.0.0/16")
  .meta({ title: "IP address or CIDR" });
/** nginx instance roles: `master`, `slave01`; also nginx's syslog tag (letters, digits, `_`). */
const role = z.string().regex(/^[a-z][a-z0-9_]{0,31}$/);

export const opsConfigSchema = z.strictObject({
  /** The ops listener (HTTP). */
  listen: z.strictObject({ host: ip, port }),
  /** Who may ask the listener, besides loopback (the container's own health check). */
  allow: z.array(cidr),
  /** nginx's access logs arrive here as syslog over UDP, from these addresses only. */
  syslog: z.strictObject({ host: ip, port, sources: z.array(ip).min(1) }),
  /** The host's nginx instances: syslog tag (= role) and stub_status URL. */
  nginx: z.array(z.strictObject({ role, status: httpUrl })).min(1),
  /** Upstream members by `address:port` as nginx logs them, for the upstream metrics. */
  upstreams: z.array(z.strictObject({ address: z.string().min(1), upstream: z.string().min(1), member: role })),
  /** The host's resizer replicas: role and metrics URL. */
  resizers: z.array(z.strictObject({ role, metrics: httpUrl })),
  /** The certificates the master serves: asked for by SNI on its HTTPS listener. */
  tls: z.array(z.strictObject({ certificate: z.string().min(1), serverName: z.string().min(1), host: ip, port })),
  /** The ACME renewers' result files (the issuer host only). */
  acme: z.strictObject({ statusDir: z.string().startsWith("/"), certificates: z.array(z.string().min(1)).min(1) }).optional(),
  /** Budget of one fetch (stub_status, a resizer's metrics, a TLS handshake). */
  timeoutMs: z.number().int().min(100).max(60_000).default(2_000),
});

export type OpsConfig = z.output<typeof opsConfigSchema>;
export type OpsConfigInput = z.input<typeof opsConfigSchema>;

export function toOpsEnv(config: OpsConfigInput): Record<string, string> {
  return { [OPS_CONFIG_ENV]: JSON.stringify(opsConfigSchema.parse(config)) };
}

/** Environment -> configuration; throws one message listing every problem. */
export function opsConfigFromEnv(env: NodeJS.ProcessEnv): OpsConfig {
  const text = env[OPS_CONFIG_ENV];
  if (text === undefined || text === "") throw new Error(`invalid ops agent settings: ${OPS_CONFIG_ENV} is not set`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`invalid ops agent settings: ${OPS_CONFIG_ENV} is not JSON (${(err as Error).message})`);
  }
  const parsed = opsConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new Error(`invalid ops agent settings:\n  ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("\n  ")}`);
}
