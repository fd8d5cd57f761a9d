// Let's Encrypt's own ACME test server on loopback (Debian's `pebble`), with
// `pebble-challtestsrv` as its DNS so every name resolves to 127.0.0.1 (or a chosen
// loopback address): validations reach whatever serves the http-01 port there.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request } from "node:https";
import { join } from "node:path";
import { SETUP_HINT, waitForPort } from "./nginx.js";
import { freePorts } from "./stage.js";

/** Fails with the set-up command when a tool is missing (tests never skip). */
export function requireTools(...tools: string[]): void {
  const missing = tools.filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
  if (missing.length > 0) throw new Error(`missing ${missing.join(", ")}: ${SETUP_HINT}`);
}

export interface Pebble {
  /** The ACME directory URL to give certbot (`--server`). */
  directory: string;
  /** Pebble's own HTTPS certificate: certbot's REQUESTS_CA_BUNDLE. */
  apiCaFile: string;
  /** The root that signs issued certificates (from pebble's management API). */
  root(): Promise<string>;
  /** Make `host` resolve to `address` instead (a validation that cannot succeed), or undo it. */
  resolve(host: string, address: string | undefined): Promise<void>;
  /** Everything pebble and the DNS server printed. */
  output(): string;
  stop(): Promise<void>;
}

function get(url: string, caFile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode} ${body} (${caFile})`))));
    });
    req.on("error", reject);
    req.end();
  });
}

function post(port: number, path: string, body: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, method: "POST" }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`challtestsrv ${path}: ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

/**
 * Starts the DNS stand-in and pebble under `dir`. `httpPort` is where pebble sends http-01
 * validations (the master's HTTP port); `resolveTo` is the address every name resolves to;
 * `certificateValidityDays` the lifetime of the certificates it issues.
 */
export async function startPebble(dir: string, options: { httpPort: number; resolveTo?: string; certificateValidityDays?: number }): Promise<Pebble> {
  requireTools("pebble", "pebble-challtestsrv", "openssl");
  mkdirSync(dir, { recursive: true });
  const [api, management, dns, dnsManagement, tls] = await freePorts(5);
  const cert = join(dir, "pebble-api.pem");
  const key = join(dir, "pebble-api.key");
  const r = spawnSync("openssl", ["req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-keyout", key, "-out", cert, "-days", "2",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
  writeFileSync(
    join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${api}`,
        managementListenAddress: `127.0.0.1:${management}`,
        certificate: cert,
        privateKey: key,
        httpPort: options.httpPort,
        tlsPort: tls,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
        // The lifetime of what it issues (pebble's default is five years).
        ...(options.certificateValidityDays !== undefined && { certificateValidityPeriod: options.certificateValidityDays * 86_400 }),
      },
    }),
  );

  let output = "";
  const children: ChildProcess[] = [];
  const run = (cmd: string, args: string[], env: Record<string, string> = {}) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (b: Buffer) => (output += b.toString()));
    child.stderr?.on("data", (b: Buffer) => (output += b.toString()));
    children.push(child);
    return child;
  };
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.kill("SIGTERM");
            setTimeout(() => c.kill("SIGKILL"), 2000).unref();
          }),
      ),
    );
  };
  try {
    run("pebble-challtestsrv", ["-http01", "", "-https01", "", "-tlsalpn01", "", "-dns01", `127.0.0.1:${dns}`, "-management", `127.0.0.1:${dnsManagement}`,
      "-defaultIPv4", options.resolveTo ?? "127.0.0.1", "-defaultIPv6", ""]);
    await waitForPort("127.0.0.1", dnsManagement!, 10_000);
    // Real validation (no PEBBLE_VA_ALWAYS_VALID), without pebble's random sleeps; no reuse
    // of earlier authorizations, so every issuance and renewal really validates; no
    // deliberately rejected nonces (certbot would retry them; this keeps timings steady).
    run("pebble", ["-config", join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${dns}`], { PEBBLE_VA_NOSLEEP: "1", PEBBLE_AUTHZREUSE: "0", PEBBLE_WFE_NONCEREJECT: "0" });
    await waitForPort("127.0.0.1", api!, 10_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${output}`);
  }
  return {
    directory: `https://127.0.0.1:${api}/dir`,
    apiCaFile: cert,
    root: () => get(`https://127.0.0.1:${management}/roots/0`, cert),
    resolve: (host, address) =>
      address === undefined ? post(dnsManagement!, "/clear-a", { host: `${host}.` }) : post(dnsManagement!, "/add-a", { host: `${host}.`, addresses: [address] }),
    output: () => output,
    stop,
  };
}
