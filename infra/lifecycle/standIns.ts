// What the providers compute when they create a resource, made up so the program can run
// without them (the mocked runs of the tests, and the lifecycle model behind `npm run diff`):
// plausible where the program reads a value (an image id a delivery prints, a renewer's first
// status, key and certificate PEMs that parse), deterministic where a test maps back (image
// ids from refs). Not pure: certificates come from the real openssl.
import { createHash, generateKeyPairSync } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** What a renewer's first check prints (infra/acme.ts `status`). */
export const STAND_IN_ISSUED = `ok 2026-11-22T06:00:00Z fingerprint=${"AB:".repeat(31)}AB not-after=2027-02-20T05:00:00Z\n`;

/** The id a delivery reports for an image ref (deterministic, so tests can map back). */
export function standInImageId(ref: string): string {
  return `sha256:${createHash("sha256").update(ref).digest("hex")}`;
}

/** openssl is not installed: what to run instead. */
export class OpensslMissing extends Error {}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8", env: { ...process.env, OPENSSL_CONF: "/dev/null" } });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") throw new OpensslMissing("openssl not found: run `bash scripts/setup.sh`");
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (exit ${r.status}):\n${r.stderr}`);
}

/**
 * What the tls provider's SelfSignedCert would return for these inputs, made by openssl from
 * the same key, names, subject, validity and uses: outputs read like the real ones, so
 * fingerprints parse and the master can serve the result.
 */
export function selfSignedLikeTlsProvider(inputs: {
  privateKeyPem: string;
  dnsNames?: string[];
  subject?: { commonName?: string; organization?: string };
  validityPeriodHours: number;
  allowedUses?: string[];
}): { certPem: string; validityEndTime: string } {
  const dir = mkdtempSync(join(tmpdir(), "tls-stand-in-"));
  try {
    writeFileSync(join(dir, "key.pem"), inputs.privateKeyPem, { mode: 0o600 });
    const subject = [
      ...(inputs.subject?.commonName ? [`CN=${inputs.subject.commonName.replace(/[/\\=+,]/g, "_")}`] : []),
      ...(inputs.subject?.organization ? [`O=${inputs.subject.organization.replace(/[/\\=+,]/g, "_")}`] : []),
    ];
    const uses = inputs.allowedUses ?? [];
    const keyUsage = uses.filter((u) => u === "digital_signature" || u === "key_encipherment").map((u) => (u === "digital_signature" ? "digitalSignature" : "keyEncipherment"));
    const ext = [
      ...(inputs.dnsNames?.length ? [`subjectAltName=${inputs.dnsNames.map((n) => `DNS:${n}`).join(",")}`] : []),
      ...(keyUsage.length ? [`keyUsage=critical,${keyUsage.join(",")}`] : []),
      ...(uses.includes("server_auth") ? ["extendedKeyUsage=serverAuth"] : []),
    ];
    writeFileSync(join(dir, "ext.cnf"), `${ext.join("\n")}\n`);
    openssl(["req", "-new", "-key", "key.pem", "-subj", `/${subject.join("/") || "CN=self-signed"}`, "-out", "req.csr"], dir);
    const days = Math.max(1, Math.floor(inputs.validityPeriodHours / 24));
    openssl(["x509", "-req", "-in", "req.csr", "-key", "key.pem", "-days", String(days), "-extfile", "ext.cnf", "-out", "cert.pem"], dir);
    const certPem = readFileSync(join(dir, "cert.pem"), "utf8");
    return { certPem, validityEndTime: new Date(Date.now() + days * 86_400_000).toISOString() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A self-signed certificate for `names` and its key, as PEM text (a stand-in for a supplied pair). */
export function standInPair(names: string[], days = 398): { certificatePem: string; privateKeyPem: string } {
  const key = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const { certPem } = selfSignedLikeTlsProvider({ privateKeyPem: key, dnsNames: names, subject: { commonName: names[0] ?? "stand-in" }, validityPeriodHours: days * 24, allowedUses: ["digital_signature", "key_encipherment", "server_auth"] });
  return { certificatePem: certPem, privateKeyPem: key };
}

/**
 * Outputs for a resource of `type` named `name`: its inputs (as `state` gives them: secrets
 * may still be wrapped) plus what its provider would compute, from the plain inputs.
 */
export function standInOutputs(type: string, name: string, state: Record<string, any>, plain: Record<string, any> = state): Record<string, any> {
  switch (type) {
    case "docker:index/remoteImage:RemoteImage":
      return { ...state, imageId: `sha256:${"1".repeat(64)}`, repoDigest: `${plain.name}@sha256:${"2".repeat(64)}` };
    case "command:local:Command":
      // An issuance gate prints the renewer's result; an image delivery its image's id.
      if (name.endsWith("-issued")) return { ...state, stdout: STAND_IN_ISSUED, stderr: "" };
      if (/-images-[a-z0-9-]+$/.test(name)) return { ...state, stdout: `${standInImageId((plain.triggers as string[])[0]!)}\n`, stderr: "" };
      // Before one delivery per image (a base commit's program, for npm run diff): one id per ref.
      if (name.endsWith("-images")) return { ...state, stdout: `${(plain.triggers as string[]).map(standInImageId).join("\n")}\n`, stderr: "" };
      return { ...state, stdout: "", stderr: "" };
    case "tls:index/privateKey:PrivateKey": {
      // A real key of the requested kind, so certificates made from it parse and serve.
      const key = plain.algorithm === "RSA" ? generateKeyPairSync("rsa", { modulusLength: plain.rsaBits ?? 2048 }) : generateKeyPairSync("ec", { namedCurve: "P-256" });
      return {
        ...state,
        privateKeyPem: key.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        publicKeyPem: key.publicKey.export({ type: "spki", format: "pem" }).toString(),
      };
    }
    case "tls:index/selfSignedCert:SelfSignedCert":
      return { ...state, ...selfSignedLikeTlsProvider(plain as Parameters<typeof selfSignedLikeTlsProvider>[0]) };
    default:
      return { ...state };
  }
}

/**
 * A stack file's config made runnable without its secrets: each supplied certificate gets a
 * stand-in pair for its names (the same pair for the same certificate text, so a commit that
 * keeps the certificate keeps the stand-in, and a renewed one gets a new pair), each dns-01
 * certificate stand-in credentials. `pairs` is shared between the runs to compare.
 */
export function withStandInSecrets(config: Record<string, unknown>, pairs: Map<string, { certificatePem: string; privateKeyPem: string }>): { config: Record<string, unknown>; secretKeys: string[] } {
  const out = structuredClone(config);
  const certificates = (out["image-origin:certificates"] ?? {}) as Record<string, Record<string, unknown>>;
  const domains = (out["image-origin:domains"] ?? []) as { serverNames?: string[]; certificate?: string }[];
  const keys: Record<string, string> = {};
  const dns: Record<string, string> = {};
  for (const [id, cert] of Object.entries(certificates)) {
    if (cert === null || typeof cert !== "object") continue;
    const mode = cert.mode ?? "supplied";
    if (mode === "supplied" && typeof cert.certificate === "string") {
      const names = domains.filter((d) => d.certificate === id).flatMap((d) => d.serverNames ?? []);
      const key = `${id}\0${cert.certificate}`;
      const pair = pairs.get(key) ?? standInPair(names.length > 0 ? names : [`${id}.invalid`]);
      pairs.set(key, pair);
      cert.certificate = pair.certificatePem;
      keys[id] = pair.privateKeyPem;
    }
    if (mode === "acme" && cert.challenge === "dns-01") dns[id] = `stand-in credentials for ${id}\n`;
  }
  out["image-origin:certificates"] = certificates;
  delete out["image-origin:tlsPrivateKeys"];
  delete out["image-origin:acmeDnsCredentials"];
  if (Object.keys(keys).length > 0) out["image-origin:tlsPrivateKeys"] = keys;
  if (Object.keys(dns).length > 0) out["image-origin:acmeDnsCredentials"] = dns;
  return { config: out, secretKeys: ["image-origin:tlsPrivateKeys", "image-origin:acmeDnsCredentials"].filter((k) => k in out) };
}

