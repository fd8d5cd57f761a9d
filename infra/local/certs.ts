// Self-signed certificates made with the real openssl (P-256 keys: fast to generate). The
// local cluster's TLS material, whatever the stack's certificate mode says.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

export interface CertFiles {
  certPath: string;
  keyPath: string;
  /** DNS names in the subjectAltName (wildcards allowed); the first is the CN. */
  names: string[];
  days?: number;
}

/** openssl is missing: the message names the set-up command. */
export class MissingToolError extends Error {}

/** Writes a self-signed certificate and its key (mode 0600) for `names`. */
export function makeSelfSigned({ certPath, keyPath, names, days = 2 }: CertFiles, setupHint = "run `bash scripts/setup.sh` as root"): void {
  if (names.length === 0) throw new Error("a certificate needs at least one name");
  mkdirSync(dirname(certPath), { recursive: true });
  mkdirSync(dirname(keyPath), { recursive: true });
  const args = [
    "req", "-x509", "-nodes",
    "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-keyout", keyPath, "-out", certPath,
    "-days", String(days),
    "-subj", `/CN=${names[0]!.replace(/[/\\=+,]/g, "_")}`,
    "-addext", `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}`,
  ];
  const r = spawnSync("openssl", args, { encoding: "utf8", env: { ...process.env, OPENSSL_CONF: "/dev/null" } });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") throw new MissingToolError(`openssl not found: ${setupHint}`);
  if (r.status !== 0) throw new Error(`openssl req failed (exit ${r.status}):\n${r.stderr}`);
}
