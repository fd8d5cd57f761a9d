// The rules of the image-origin policy pack, kept apart from the pack's entry point
// (index.ts starts the analyzer's gRPC server on import), so tests call them directly with
// the arguments the analyzer builds. Each rule reads only the inputs it needs: during
// `pulumi preview` an input not yet known (an image id read back from a host) makes the
// analyzer skip that rule for that resource with a note, and `pulumi up` checks it.
import type { EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { CONTAINER as LAYOUT, instanceName } from "../infra/topology.js";

export const CONTAINER = "docker:index/container:Container";
export const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";

/** What the pack knows of the stack beyond one resource (from the stack config, when given). */
export interface PolicyContext {
  /** `hosts[]` of the stack config: every container name starts with its host's name. */
  hosts: { name: string; address: string }[];
  /** `vip.haproxy.hosts[]` when `vip.mode` is haproxy: the L4 hosts, whose containers have named exceptions. */
  l4Hosts?: { name: string; address: string }[];
}

/** `[{name, address}]` of a JSON list, dropping anything else. */
function namedAddresses(value: unknown): { name: string; address: string }[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((h: { name?: unknown; address?: unknown }) => (typeof h?.name === "string" && typeof h.address === "string" ? [{ name: h.name, address: h.address }] : []));
}

function parsed(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The stack config as the engine passes it to the pack (`image-origin:hosts` as JSON text). */
export function contextFromStackConfig(config: Record<string, string>): PolicyContext {
  const vip = parsed(config["image-origin:vip"]) as { mode?: unknown; haproxy?: { hosts?: unknown } } | undefined;
  const l4Hosts = vip?.mode === "haproxy" ? namedAddresses(vip.haproxy?.hosts) : [];
  return { hosts: namedAddresses(parsed(config["image-origin:hosts"])), ...(l4Hosts.length > 0 && { l4Hosts }) };
}

// ---------------------------------------------------------------------------------------
// Which inputs were secrets

/**
 * @pulumi/policy hands rules every input with secrets already unwrapped, so a rule cannot
 * tell a secret from a plain value by itself. The engine does send the secret markers; the
 * entry point records where they were (index.ts) and rules read it here.
 */
const secretPaths = new WeakMap<object, readonly string[]>();

/** The analyzer wraps props in proxies that reveal their target under this key. */
const PROXY_TARGET = "__getSpecialProxyTarget";

function unproxied<T extends object>(props: T): T {
  let o = props as Record<string, unknown>;
  for (let i = 0; i < 4; i++) {
    const target = o[PROXY_TARGET];
    if (target === undefined || target === o || typeof target !== "object" || target === null) break;
    o = target as Record<string, unknown>;
  }
  return o as T;
}

/** Records the dotted paths (`uploads.3.content`, `envs`) of a resource's secret inputs. */
export function markSecretPaths(props: object, paths: readonly string[]): void {
  secretPaths.set(unproxied(props), paths);
}

/** The secret input paths of these props, or undefined when nobody recorded them. */
export function secretPathsOf(props: object): readonly string[] | undefined {
  return secretPaths.get(unproxied(props));
}

// ---------------------------------------------------------------------------------------
// Reading container inputs

type Props = Record<string, any>;

const suffix = (make: (x: string) => string) => make("");
/** Container roles by the names topology.ts gives them. */
const NAMES = {
  master: suffix(instanceName.master),
  publisher: suffix(instanceName.tlsPublish),
  ops: suffix(instanceName.ops),
  installer: suffix(instanceName.installer),
  cacheOwner: suffix(instanceName.cacheOwner),
};

/** Runs to completion at `pulumi up` and stays exited (the program's one-shots). */
export function isOneShot(p: Props): boolean {
  return p.attach === true && p.mustRun === false;
}

/** Installs an nginx instance's files: the one container allowed a writable root. */
function isInstaller(p: Props): boolean {
  return typeof p.name === "string" && p.name.endsWith(NAMES.installer) && isOneShot(p) && p.networkMode === "none";
}

function hostOf(name: string, ctx: PolicyContext): { name: string; address: string } | undefined {
  return ctx.hosts.filter((h) => name.startsWith(`${h.name}-`)).sort((a, b) => b.name.length - a.name.length)[0];
}

/** Every string in a value with its dotted path. */
function* strings(value: unknown, path = ""): Generator<[string, string]> {
  if (typeof value === "string") yield [path, value];
  else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) yield* strings(value[i], path ? `${path}.${i}` : String(i));
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) yield* strings(v, path ? `${path}.${k}` : k);
  }
}

// ---------------------------------------------------------------------------------------
// Named exceptions: a kind of container that legitimately needs what a mandatory rule
// forbids, with the reason. Each applies to containers of one name on the stack's L4 hosts
// only, and allows exactly what it names: anything more is still refused.

type ExceptionName = "vip-keepalived" | "vip-haproxy-ports";

export const EXCEPTIONS: Record<ExceptionName, { container: string; rules: string[]; reason: string }> = {
  "vip-keepalived": {
    container: `<L4 host>${suffix(instanceName.keepalived)}`,
    rules: ["no-host-namespaces", "serving-containers-non-root", "capabilities-dropped"],
    reason:
      "keepalived holds the VIP: it adds and removes the address on the L4 host's own interface (CAP_NET_ADMIN, in the host's network " +
      "namespace) and speaks VRRP and gratuitous ARP (raw sockets, CAP_NET_RAW). Docker gives a non-root process no capabilities, so it " +
      `runs as ${LAYOUT.keepalived.privileges.user} with ${LAYOUT.keepalived.privileges.capAdd.join(" and ")} only, networkMode ${LAYOUT.keepalived.privileges.networkMode}, on a read-only root.`,
  },
  "vip-haproxy-ports": {
    container: `<L4 host>${suffix(instanceName.haproxy)}`,
    rules: ["ports-only-masters-on-host-address"],
    reason:
      "HAProxy serves the VIP, which keepalived moves between the L4 hosts, and Docker cannot publish on an address its host does not hold " +
      "yet: the VIP's ports (HAProxy's listeners inside) are published on every address of the dedicated L4 host; its stats port only on the host's own.",
  },
};

/** The L4 host `name` belongs to, when it is that host's container of the given kind. */
function l4HostOf(name: string, kind: (host: string) => string, ctx: PolicyContext): { name: string; address: string } | undefined {
  return (ctx.l4Hosts ?? []).find((h) => kind(h.name) === name);
}

// ---------------------------------------------------------------------------------------
// The rules

interface Rule {
  name: string;
  description: string;
  level: Exclude<EnforcementLevel, "remediate" | "disabled">;
  /** Resource types the rule reads (it is not applicable to others). */
  types: string[];
  /** Messages, one per violation; none when the resource complies. */
  check(args: { type: string; name: string; props: Props; opts: ResourceValidationArgs["opts"] }, ctx: PolicyContext): string[];
}

const containerName = (args: { name: string; props: Props }) => (typeof args.props.name === "string" ? args.props.name : args.name);

const RULES: Rule[] = [
  {
    name: "no-privileged-containers",
    description: "No container runs privileged (every device and capability of the host).",
    level: "mandatory",
    types: [CONTAINER],
    check: ({ props }) => (props.privileged === true ? ["runs privileged: drop `privileged`; add the one capability it needs instead"] : []),
  },
  {
    name: "no-host-namespaces",
    description: "No container shares the host's network, PID, IPC or user namespace.",
    level: "mandatory",
    types: [CONTAINER],
    check: (args, ctx) => {
      const keepalived = l4HostOf(containerName(args), instanceName.keepalived, ctx) !== undefined;
      return (["networkMode", "pidMode", "ipcMode", "usernsMode"] as const)
        .filter((k) => args.props[k] === "host" && !(keepalived && k === "networkMode")) // exception vip-keepalived
        .map((k) => `${k}: host shares the host's namespace; use the host's private network / its own namespace`);
    },
  },
  {
    name: "no-docker-socket",
    description: "No container mounts the Docker socket (root on the host for whoever reaches it).",
    level: "mandatory",
    types: [CONTAINER],
    check: ({ props }) => {
      // The socket itself, or a directory that holds it.
      const exposes = (source: unknown) => typeof source === "string" && /^(\/|\/run\/?|\/var\/?|\/var\/run\/?|.*\/docker\.sock)$/.test(source);
      return [
        ...((props.mounts ?? []) as Props[]).filter((m) => m.type === "bind" && exposes(m.source)).map((m) => `mounts: ${m.source} exposes the Docker socket`),
        ...((props.volumes ?? []) as Props[]).filter((v) => exposes(v.hostPath)).map((v) => `volumes: ${v.hostPath} exposes the Docker socket`),
      ];
    },
  },
  {
    name: "serving-containers-memory-limit",
    description: "Every serving (long-running) container has a memory limit.",
    level: "mandatory",
    types: [CONTAINER],
    check: ({ props }) => (isOneShot(props) || (typeof props.memory === "number" && props.memory > 0) ? [] : ["no memory limit: set `memory` (MB) so one container cannot starve the host"]),
  },
  {
    name: "serving-containers-non-root",
    description: "Every serving (long-running) container runs as a non-root user.",
    level: "mandatory",
    types: [CONTAINER],
    check: (args, ctx) => {
      const { props } = args;
      if (isOneShot(props)) return [];
      const user = typeof props.user === "string" ? props.user.trim() : "";
      // exception vip-keepalived: root, with the capabilities `capabilities-dropped` allows it.
      if (l4HostOf(containerName(args), instanceName.keepalived, ctx) && user === LAYOUT.keepalived.privileges.user) return [];
      return user === "" || /^(0|root)(:|$)/.test(user) ? [`runs as ${user === "" ? "the image's default user (root unless it says otherwise)" : user}: set \`user\` to an unprivileged uid:gid`] : [];
    },
  },
  {
    name: "read-only-root-filesystem",
    description: `Every container has a read-only root filesystem, except the one-shot installers (\`<instance>${NAMES.installer}\`) that receive uploads.`,
    level: "mandatory",
    types: [CONTAINER],
    check: ({ props }) => (props.readOnly === true || isInstaller(props) ? [] : ["root filesystem is writable: set `readOnly: true` and give it a tmpfs or a volume where it must write"]),
  },
  {
    name: "capabilities-dropped",
    description: `Every container drops all capabilities; only the one-shots that chown (installers, \`<host>${NAMES.cacheOwner}\`) add CHOWN back.`,
    level: "mandatory",
    types: [CONTAINER],
    check: (args, ctx) => {
      const { props } = args;
      const caps = (props.capabilities ?? {}) as { drops?: string[]; adds?: string[] };
      const out: string[] = [];
      if (!(caps.drops ?? []).some((c) => c.toUpperCase() === "ALL")) out.push("capabilities.drops must include ALL");
      const chowns = isOneShot(props) && typeof props.name === "string" && (isInstaller(props) || props.name.endsWith(NAMES.cacheOwner));
      const keepalived = !isOneShot(props) && l4HostOf(containerName(args), instanceName.keepalived, ctx) !== undefined;
      const allowed = (c: string) => {
        const cap = c.toUpperCase().replace(/^CAP_/, "");
        return (chowns && cap === "CHOWN") || (keepalived && (LAYOUT.keepalived.privileges.capAdd as readonly string[]).includes(cap)); // exception vip-keepalived
      };
      const extra = (caps.adds ?? []).filter((c) => !allowed(c));
      if (extra.length > 0) out.push(`capabilities.adds ${extra.join(", ")}: not allowed for this container`);
      return out;
    },
  },
  {
    name: "images-by-id-or-digest",
    description: "Containers name their image by id (sha256:...) or digest (...@sha256:...), never by a tag that can move.",
    level: "mandatory",
    types: [CONTAINER],
    check: ({ props }) =>
      typeof props.image === "string" && /^sha256:[0-9a-f]{64}$|@sha256:[0-9a-f]{64}$/.test(props.image) ? [] : [`image ${JSON.stringify(props.image)} is a tag: use the id the host reports, or a digest`],
  },
  {
    name: "ports-only-masters-on-host-address",
    description: `Only masters, the ops agents (\`<host>${NAMES.ops}\`: the private metrics listener) and the ACME bundle publisher (\`<host>${NAMES.publisher}\`) publish ports, and only on their host's own address.`,
    level: "mandatory",
    types: [CONTAINER],
    check: (args, ctx) => {
      const ports = (args.props.ports ?? []) as { ip?: string; external?: number; internal: number }[];
      if (ports.length === 0) return [];
      const name = containerName(args);
      const l4 = l4HostOf(name, instanceName.haproxy, ctx);
      if (l4 !== undefined) {
        // exception vip-haproxy-ports: HAProxy's VIP listeners on every address, the rest on the L4 host's own.
        const vipListeners = new Set<number>([LAYOUT.haproxy.ports.http, LAYOUT.haproxy.ports.https]);
        return ports.flatMap((p) => {
          const everywhere = (p.ip ?? "") === "" || p.ip === "0.0.0.0";
          if (everywhere && vipListeners.has(p.internal)) return [];
          if (!everywhere && p.ip === l4.address) return [];
          return [`port ${p.external ?? p.internal} (inside ${p.internal}) is published on ${everywhere ? "every address" : p.ip}: only HAProxy's VIP listeners go on every address, the rest on ${l4.name}'s address ${l4.address}`];
        });
      }
      if (![NAMES.master, NAMES.ops, NAMES.publisher].some((n) => name.endsWith(n))) {
        return [`publishes ${ports.map((p) => p.external ?? p.internal).join(", ")}: only a host's master (and its ops agent) publish ports; reach this one over the host's private network`];
      }
      const host = hostOf(name, ctx);
      return ports.flatMap((p) => {
        const ip = p.ip ?? "";
        if (ip === "" || ip === "0.0.0.0" || ip === "::" || ip === "[::]") return [`port ${p.external ?? p.internal} is published on every address: publish on the host's address${host ? ` (${host.address})` : ""}`];
        if (host !== undefined && ip !== host.address) return [`port ${p.external ?? p.internal} is published on ${ip}, not on ${host.name}'s address ${host.address}`];
        return [];
      });
    },
  },
  {
    name: "no-plain-secrets",
    description: "No private key or credential in a plain (non-secret) input: keys and credentials reach resources as Pulumi secrets only.",
    level: "mandatory",
    types: [],
    check: ({ props }) => {
      const secret = secretPathsOf(props);
      // Scans every input: read past the analyzer's unknown-checking proxy, so an input not
      // known at preview (a sentinel string) does not stop the scan of the known ones.
      props = unproxied(props);
      const isSecret = (path: string) => secret !== undefined && secret.some((s) => s === "" || s === path || path.startsWith(`${s}.`));
      const out: string[] = [];
      for (const [path, text] of strings(props)) {
        const what = sensitive(text);
        if (what === undefined || isSecret(path)) continue;
        out.push(secret === undefined ? `${path}: holds ${what} and its secrecy could not be read (the pack's secret hook did not run)` : `${path}: holds ${what} in plain text; pass it as a Pulumi secret (pulumi.secret / config set --secret)`);
      }
      return out;
    },
  },
  {
    name: "tls-1.2-plus-aead-ciphers",
    description: "Every nginx config a container receives allows only TLS 1.2/1.3 and, for TLS 1.2, only AEAD ciphers.",
    level: "mandatory",
    types: [CONTAINER],
    check: ({ props }) => {
      props = unproxied(props); // as no-plain-secrets: unknown files are checked at `up`
      const out: string[] = [];
      for (const [path, text] of strings({ uploads: props.uploads, command: props.command, entrypoints: props.entrypoints })) {
        if (!/^\s*(http|stream)\s*\{/m.test(text)) continue;
        for (const problem of tlsProblems(text)) out.push(`${path}: ${problem}`);
      }
      return out;
    },
  },
  // -- advisory -------------------------------------------------------------------------
  {
    name: "serving-containers-healthcheck",
    description: "Serving containers declare a healthcheck (Docker restarts and `pulumi up` waits on it).",
    level: "advisory",
    types: [CONTAINER],
    check: ({ props }) => (isOneShot(props) || (props.healthcheck?.tests ?? []).length > 0 ? [] : ["no healthcheck: nothing tells Docker or the rollout gate that it serves"]),
  },
  {
    name: "serving-containers-restart-policy",
    description: "Serving containers restart by themselves (unless-stopped or always).",
    level: "advisory",
    types: [CONTAINER],
    check: ({ props }) => (isOneShot(props) || ["unless-stopped", "always"].includes(props.restart) ? [] : [`restart: ${props.restart ?? "no"}; a crash or a host reboot leaves it down`]),
  },
  {
    name: "container-log-rotation",
    description: "Container logs are rotated by the log driver (the seeds' logrotate trouble).",
    level: "advisory",
    types: [CONTAINER],
    check: ({ props }) =>
      isOneShot(props) || (["local", "json-file"].includes(props.logDriver) && typeof props.logOpts?.["max-size"] === "string") ? [] : ["logs are not rotated: logDriver local (or json-file) with max-size and max-file"],
  },
  {
    name: "no-new-privileges",
    description: "Containers cannot gain privileges (setuid binaries) after start.",
    level: "advisory",
    types: [CONTAINER],
    check: ({ props }) => (((props.securityOpts ?? []) as string[]).some((o) => /^no-new-privileges(:true|=true)?$/.test(o)) ? [] : ["securityOpts lacks no-new-privileges:true"]),
  },
  {
    name: "fixed-names-delete-before-replace",
    description: "Resources with a fixed name are deleted before their replacement is created (pulumi-docker #1356: otherwise the new one collides).",
    level: "advisory",
    types: [CONTAINER],
    check: ({ props, opts }) => (typeof props.name === "string" && opts.deleteBeforeReplace !== true ? [`fixed name ${props.name} without deleteBeforeReplace: a replacement would fail on the name`] : []),
  },
  {
    name: "remote-images-pinned",
    description: "Images pulled by tag name a pinned version (never latest or no tag).",
    level: "advisory",
    types: [REMOTE_IMAGE],
    check: ({ props }) => {
      const ref = String(props.name ?? "");
      if (/@sha256:[0-9a-f]{64}$/.test(ref)) return [];
      const tag = /:([^/:@]+)$/.exec(ref)?.[1];
      return tag === undefined || tag === "latest" ? [`${ref} is not pinned: name a version tag or a digest`] : [];
    },
  },
];

/**
 * PEM private keys and credential assignments: `dns_cloudflare_api_token = ...`,
 * `AWS_SECRET_ACCESS_KEY=...`, `ACME_DNS_CREDENTIALS=...` (a value, not a `$reference`).
 */
const CREDENTIAL = /(?:^|[\s=;])([A-Za-z0-9_.-]*(?:password|passwd|secret|token|credentials?|api[_-]?key|access[_-]?key)[A-Za-z0-9_.-]*)[ \t]*[=:][ \t]*[A-Za-z0-9+/]/i;

function sensitive(text: string): string | undefined {
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) return "a private key";
  const credential = CREDENTIAL.exec(text);
  return credential ? `a credential (${credential[1]})` : undefined;
}

/** Statements of an nginx config as word lists (comments dropped, quotes honoured). */
function statements(text: string): string[][] {
  const out: string[][] = [];
  let words: string[] = [];
  let word = "";
  let quote: string | undefined;
  const end = () => {
    if (word !== "") words.push(word);
    word = "";
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== undefined) {
      if (c === "\\" && i + 1 < text.length) word += text[++i];
      else if (c === quote) quote = undefined;
      else word += c;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#") while (i + 1 < text.length && text[i + 1] !== "\n") i++;
    else if (/\s/.test(c)) end();
    else if (c === ";" || c === "{" || c === "}") {
      end();
      if (words.length > 0) out.push(words);
      words = [];
    } else word += c;
  }
  return out;
}

const GOOD_PROTOCOLS = new Set(["TLSv1.2", "TLSv1.3"]);
const isAead = (cipher: string) => /GCM|CHACHA20[-_]POLY1305|CCM/i.test(cipher);

/** Why an nginx config's TLS settings are refused (empty: accepted). */
export function tlsProblems(text: string): string[] {
  const stmts = statements(text);
  const problems: string[] = [];
  const tls = stmts.some(([name, ...args]) => (name === "listen" && args.includes("ssl")) || (name === "ssl" && args[0] === "on"));
  if (stmts.some(([name, arg]) => name === "ssl" && arg === "on")) problems.push("`ssl on` (the seeds' obsolete form): use `listen ... ssl`");
  const protocols = stmts.filter(([name]) => name === "ssl_protocols").map(([, ...args]) => args);
  const ciphers = stmts.filter(([name]) => name === "ssl_ciphers").map(([, ...args]) => args.join(""));
  for (const list of protocols) {
    const bad = list.filter((p) => !GOOD_PROTOCOLS.has(p));
    if (bad.length > 0) problems.push(`ssl_protocols allows ${bad.join(", ")}: only TLSv1.2 and TLSv1.3`);
  }
  for (const list of ciphers) {
    const bad = list.split(":").filter((c) => c !== "" && !c.startsWith("!") && !c.startsWith("-") && !c.startsWith("@") && !isAead(c));
    if (bad.length > 0) problems.push(`ssl_ciphers allows ${bad.join(", ")}: only AEAD suites (GCM, CHACHA20-POLY1305)`);
  }
  if (tls && protocols.length === 0) problems.push("TLS is served without ssl_protocols (nginx's default depends on its version): set TLSv1.2 TLSv1.3");
  const tls12 = protocols.length === 0 || protocols.some((list) => list.includes("TLSv1.2"));
  if (tls && tls12 && ciphers.length === 0) problems.push("TLS 1.2 without ssl_ciphers (nginx's default includes CBC suites): list AEAD suites");
  return problems;
}

/** The rules as CrossGuard policies, bound to what the pack knows of the stack. */
export function policies(ctx: PolicyContext): ResourceValidationPolicy[] {
  return RULES.map((rule) => ({
    name: rule.name,
    description: rule.description,
    enforcementLevel: rule.level,
    validateResource: (args, reportViolation) => {
      if (rule.types.length > 0 && !rule.types.includes(args.type)) return;
      for (const message of rule.check({ type: args.type, name: args.name, props: args.props, opts: args.opts }, ctx)) reportViolation(message);
    },
  }));
}

export const RULE_NAMES = RULES.map((r) => ({ name: r.name, level: r.level }));
