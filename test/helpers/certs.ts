// Test certificates: self-signed files through the launcher's own helper
// (infra/local/certs.ts, with the test suite's set-up hint when openssl is missing), and
// PEM text for config values and secrets, made by the real openssl.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeSelfSigned as make, type CertFiles } from "../../infra/local/certs.js";
import { SETUP_HINT } from "./nginx.js";

export type { CertFiles } from "../../infra/local/certs.js";

/** Writes a self-signed certificate and its key (mode 0600) for `names`. */
export function makeSelfSigned(files: CertFiles): void {
  make(files, SETUP_HINT);
}

// ---------------------------------------------------------------------------------------
// Certificates as PEM text (for config values and secrets), made by the real openssl.

export interface Pem {
  certificatePem: string;
  privateKeyPem: string;
}

export interface PemOptions {
  /** DNS names of the subjectAltName; none (and no ips) = no SAN extension at all. */
  names: string[];
  /** IP addresses of the subjectAltName. */
  ips?: string[];
  /** Validity in days; negative makes an already expired certificate. */
  days?: number;
  /** Key type (default a P-256 EC key). */
  key?: "ec" | "rsa:1024" | "rsa:2048";
  /** Sign with this CA instead of self-signing. */
  ca?: Pem;
  /** Make a CA certificate (basicConstraints CA:TRUE). */
  isCa?: boolean;
  subject?: string;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8", env: { ...process.env, OPENSSL_CONF: "/dev/null" } });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`openssl not found: ${SETUP_HINT}`);
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (exit ${r.status}):\n${r.stderr}`);
}

/** A certificate and its key as PEM strings (self-signed, or signed by `ca`). */
export function makePem(options: PemOptions): Pem {
  const dir = mkdtempSync(join(tmpdir(), "pem-"));
  try {
    const { names, days = 30, key = "ec" } = options;
    const subject = options.subject ?? `/CN=${(names[0] ?? "no-name").replace(/[/\\=+,]/g, "_")}`;
    const keyArgs = key === "ec" ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] : ["-newkey", key];
    const san = [...names.map((n) => `DNS:${n}`), ...(options.ips ?? []).map((ip) => `IP:${ip}`)];
    const ext = [
      ...(san.length > 0 ? [`subjectAltName=${san.join(",")}`] : []),
      options.isCa ? "basicConstraints=critical,CA:TRUE" : "basicConstraints=critical,CA:FALSE",
    ];
    writeFileSync(join(dir, "ext.cnf"), `${ext.join("\n")}\n`);
    openssl(["req", "-new", "-nodes", ...keyArgs, "-keyout", "key.pem", "-out", "req.csr", "-subj", subject], dir);
    if (options.ca) {
      writeFileSync(join(dir, "ca.pem"), options.ca.certificatePem);
      writeFileSync(join(dir, "ca.key"), options.ca.privateKeyPem);
      openssl(["x509", "-req", "-in", "req.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", String(days), "-extfile", "ext.cnf", "-out", "cert.pem"], dir);
    } else {
      openssl(["x509", "-req", "-in", "req.csr", "-key", "key.pem", "-days", String(days), "-extfile", "ext.cnf", "-out", "cert.pem"], dir);
    }
    return { certificatePem: readFileSync(join(dir, "cert.pem"), "utf8"), privateKeyPem: readFileSync(join(dir, "key.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export { selfSignedLikeTlsProvider } from "../../infra/lifecycle/standIns.js";
