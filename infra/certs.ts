// Certificates as data: parse a PEM chain, read the facts operators compare (SHA-256
// fingerprint, expiry, names), and validate a supplied certificate against its private key
// and the server names the plan needs, before any resource exists. Pure: node:crypto only,
// no Pulumi, no disk, no network. Messages name the config path and never contain key
// material.
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Days before expiry from which `pulumi preview` warns about a supplied certificate. */
export const EXPIRY_WARNING_DAYS = 30;

/** Smallest RSA key Debian's OpenSSL (security level 2) lets nginx load ("ee key too small"). */
export const MIN_RSA_BITS = 2048;

export interface CertificateFacts {
  /** SHA-256 of the DER leaf, as `openssl x509 -fingerprint -sha256` prints it (AB:CD:...). */
  fingerprint: string;
  /** ISO 8601, UTC. */
  notBefore: string;
  notAfter: string;
  serial: string;
  subject: string;
  issuer: string;
  /** DNS names of the subjectAltName extension (what clients match; the CN is ignored). */
  names: string[];
}

/** Every certificate block of a PEM text, in order. */
export function pemCertificates(pem: string): string[] {
  return [...pem.matchAll(PEM_CERTIFICATE)].map((m) => `${m[0]}\n`);
}

/** `DNS:a, DNS:"b,c", IP Address:1.2.3.4` -> the DNS names (Node quotes unusual values as JSON). */
export function dnsNames(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const names: string[] = [];
  // Entries are separated by ", "; a quoted value may itself contain ", ".
  for (const match of subjectAltName.matchAll(/(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const [, kind, raw = ""] = match;
    if (kind !== "DNS") continue;
    names.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
  }
  return names;
}

function facts(cert: X509Certificate): CertificateFacts {
  return {
    fingerprint: cert.fingerprint256,
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    serial: cert.serialNumber,
    subject: cert.subject.replace(/\n/g, ", "),
    issuer: cert.issuer.replace(/\n/g, ", "),
    names: dnsNames(cert.subjectAltName),
  };
}

/** Facts of the first (leaf) certificate of a PEM chain; throws when there is none. */
export function certificateFacts(pem: string): CertificateFacts {
  const [leaf] = pemCertificates(pem);
  if (leaf === undefined) throw new Error("no PEM certificate found");
  return facts(new X509Certificate(leaf));
}

/**
 * Whether a certificate name covers a server name, as TLS clients match them (RFC 6125):
 * case-insensitive; a wildcard stands for exactly one whole left-most label
 * (`*.tving.com` covers `img.tving.com`, not `tving.com` or `a.b.tving.com`). A wildcard
 * server name (`*.tving.com` in nginx) needs that same wildcard in the certificate.
 */
export function nameCovers(certName: string, serverName: string): boolean {
  const cert = certName.toLowerCase().replace(/\.$/, "");
  const server = serverName.toLowerCase().replace(/\.$/, "");
  if (cert === server) return true;
  if (!cert.startsWith("*.") || server.startsWith("*.")) return false;
  const dot = server.indexOf(".");
  return dot > 0 && server.slice(dot + 1) === cert.slice(2);
}

export interface SuppliedInput {
  /** Certificate id (`certificates.<id>`). */
  id: string;
  /** The PEM chain from `certificates.<id>.certificate`. */
  certificatePem: string;
  /** The PEM key from the secret `tlsPrivateKeys.<id>`; undefined when not set. */
  privateKeyPem: string | undefined;
  /** Server names the plan serves with this certificate. */
  names: readonly string[];
  now: Date;
  warnDays?: number;
}

export interface SuppliedReport {
  /** Each stops the run: `<config path>: <what is wrong and what to do>`. */
  problems: string[];
  /** Shown by `pulumi preview`/`up`, not fatal. */
  warnings: string[];
  /** Facts of the leaf when it parsed. */
  facts?: CertificateFacts;
}

const DAY_MS = 86_400_000;

function parseKey(pem: string): KeyObject | { error: string } {
  if (/ENCRYPTED/.test(pem)) {
    return { error: "the private key is encrypted; nginx would need ssl_password_file. Store it decrypted (openssl pkey -in key.pem -out plain.pem) as a Pulumi secret" };
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    return { error: "not a PEM private key (expected -----BEGIN PRIVATE KEY----- or an RSA/EC variant)" };
  }
  try {
    return createPrivateKey(pem);
  } catch {
    // OpenSSL's message is not echoed: it is about the key's bytes.
    return { error: "the PEM private key does not parse (damaged or truncated)" };
  }
}

/**
 * Everything that would make nginx refuse a supplied certificate, or clients reject it,
 * found before anything is created: the chain parses and is ordered leaf first, the key
 * parses and matches the leaf, every server name is covered, nothing is expired or not
 * yet valid, the key is strong enough for OpenSSL's default security level.
 */
export function validateSupplied(input: SuppliedInput): SuppliedReport {
  const certPath = `certificates.${input.id}.certificate`;
  const keyPath = `tlsPrivateKeys.${input.id}`;
  const problems: string[] = [];
  const warnings: string[] = [];
  const warnDays = input.warnDays ?? EXPIRY_WARNING_DAYS;

  const blocks = pemCertificates(input.certificatePem);
  const chain: X509Certificate[] = [];
  blocks.forEach((pem, i) => {
    try {
      chain.push(new X509Certificate(pem));
    } catch {
      problems.push(`${certPath}: certificate ${i + 1} of the chain does not parse as X.509 (damaged PEM?)`);
    }
  });
  if (blocks.length === 0) problems.push(`${certPath}: no PEM certificate found`);
  if (chain.length !== blocks.length || chain.length === 0) return { problems, warnings };

  const leaf = chain[0]!;
  const leafFacts = facts(leaf);

  if (/PLACEHOLDER/i.test(leaf.subject)) {
    problems.push(`${certPath}: still the placeholder certificate of the stack file; set the real chain (see the stack file's header)`);
  }
  if (leaf.ca && chain.length === 1 && leafFacts.names.length === 0) {
    problems.push(`${certPath}: the first certificate is a CA certificate without names; the chain must start with the server's own certificate`);
  }

  // Chain order: nginx sends the file as it is, and clients need leaf -> intermediate -> ...
  for (let i = 1; i < chain.length; i++) {
    const child = chain[i - 1]!;
    const parent = chain[i]!;
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      problems.push(`${certPath}: certificate ${i + 1} of the chain did not issue certificate ${i}; order the chain leaf first, then each issuer`);
    }
  }

  // Validity of every certificate in the chain.
  const now = input.now.getTime();
  chain.forEach((cert, i) => {
    const which = i === 0 ? "the certificate" : `certificate ${i + 1} of the chain (${cert.subject.replace(/\n/g, ", ")})`;
    const from = new Date(cert.validFrom).getTime();
    const to = new Date(cert.validTo).getTime();
    if (to <= now) problems.push(`${certPath}: ${which} expired on ${new Date(to).toISOString()}`);
    else if (from > now) problems.push(`${certPath}: ${which} is not valid before ${new Date(from).toISOString()}`);
    else if (to - now < warnDays * DAY_MS) {
      warnings.push(`${certPath}: ${which} expires on ${new Date(to).toISOString()}, in ${Math.floor((to - now) / DAY_MS)} days: renew it`);
    }
  });

  // Names: clients match the subjectAltName only (CN fallback is gone from browsers).
  if (leafFacts.names.length === 0) {
    problems.push(`${certPath}: the certificate has no DNS subjectAltName; clients ignore the CN (${leafFacts.subject})`);
  } else {
    const missing = input.names.filter((n) => !leafFacts.names.some((c) => nameCovers(c, n)));
    if (missing.length > 0) {
      problems.push(`${certPath}: does not cover ${missing.join(", ")} (the certificate names ${leafFacts.names.join(", ")}; a wildcard covers one label)`);
    }
  }

  // The key: present, parses, strong enough, and belongs to the leaf.
  if (input.privateKeyPem === undefined) {
    problems.push(`${keyPath}: certificate "${input.id}" is supplied but its private key is not set (pulumi config set --secret --path '${keyPath}' -- "$(cat key.pem)")`);
  } else {
    const key = parseKey(input.privateKeyPem);
    if ("error" in key) problems.push(`${keyPath}: ${key.error}`);
    else {
      const bits = key.asymmetricKeyDetails?.modulusLength;
      if (key.asymmetricKeyType === "rsa" && bits !== undefined && bits < MIN_RSA_BITS) {
        problems.push(`${keyPath}: a ${bits}-bit RSA key; OpenSSL's default security level refuses keys under ${MIN_RSA_BITS} bits, so nginx would not start`);
      }
      if (!leaf.checkPrivateKey(key)) {
        problems.push(`${keyPath}: does not match the certificate in ${certPath} (fingerprint ${leafFacts.fingerprint}); set the key that was issued with it`);
      }
    }
  }

  return { problems, warnings, facts: leafFacts };
}
