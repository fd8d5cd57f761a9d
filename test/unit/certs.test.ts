// Supplied certificates (seed 001's star.tving.com.pem/.key) are checked before anything is
// created: a wrong key, an expired certificate or a missing name fails `pulumi preview`
// with the config path to fix, and no message ever shows key material.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { certificateFacts, dnsNames, nameCovers, pemCertificates, validateSupplied, type SuppliedInput } from "../../infra/certs.js";
import { makePem } from "../helpers/certs.js";

const NAMES = ["image-origin.tving.com", "stillshot-origin.tving.com"];
const star = makePem({ names: ["*.tving.com", "tving.com"], days: 365 });
const other = makePem({ names: ["*.tving.com"], days: 365 });

function check(overrides: Partial<SuppliedInput> = {}) {
  return validateSupplied({ id: "star-tving", certificatePem: star.certificatePem, privateKeyPem: star.privateKeyPem, names: NAMES, now: new Date(), ...overrides });
}

/** No message may carry a line of any private key used here. */
function assertNoKeyMaterial(texts: string[], ...keys: string[]) {
  const joined = texts.join("\n");
  assert.doesNotMatch(joined, /PRIVATE KEY/);
  for (const key of keys) {
    for (const line of key.split("\n").filter((l) => l.length > 16 && !l.startsWith("-----"))) {
      assert.ok(!joined.includes(line.slice(0, 16)), "a message contains key material");
    }
  }
}

describe("name matching", () => {
  test("a wildcard covers exactly one label; exact names match case-insensitively", () => {
    assert.ok(nameCovers("*.tving.com", "image-origin.tving.com"));
    assert.ok(nameCovers("*.TVING.com", "Image-Origin.tving.com"));
    assert.ok(!nameCovers("*.tving.com", "tving.com"));
    assert.ok(!nameCovers("*.tving.com", "a.b.tving.com"));
    assert.ok(nameCovers("tving.com", "tving.com."));
    assert.ok(!nameCovers("img.tving.com", "*.tving.com"), "a wildcard server name needs the wildcard itself");
    assert.ok(nameCovers("*.tving.com", "*.tving.com"));
  });

  test("subjectAltName text with quoted entries and IP addresses yields the DNS names only", () => {
    assert.deepEqual(dnsNames('DNS:a.example.com, IP Address:10.0.0.1, DNS:"b,c.example.com", DNS:*.x.com'), ["a.example.com", "b,c.example.com", "*.x.com"]);
    assert.deepEqual(dnsNames(undefined), []);
  });

  test("facts of a chain are the leaf's: SHA-256 fingerprint, expiry, names", () => {
    const facts = certificateFacts(star.certificatePem);
    assert.match(facts.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.deepEqual(facts.names, ["*.tving.com", "tving.com"]);
    assert.ok(Date.parse(facts.notAfter) > Date.now() + 300 * 86_400_000);
    assert.equal(pemCertificates(`${star.certificatePem}\n${other.certificatePem}`).length, 2);
  });
});

describe("a supplied certificate with its key", () => {
  test("a matching, valid pair covering every server name passes with its facts", () => {
    const r = check();
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.facts?.fingerprint, certificateFacts(star.certificatePem).fingerprint);
  });

  test("a mismatched key is refused, naming the secret to fix", () => {
    const r = check({ privateKeyPem: other.privateKeyPem });
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!, /^tlsPrivateKeys\.star-tving: does not match the certificate in certificates\.star-tving\.certificate/);
    assertNoKeyMaterial([...r.problems, ...r.warnings], star.privateKeyPem, other.privateKeyPem);
  });

  test("an expired certificate is refused with its expiry date", () => {
    const expired = makePem({ names: ["*.tving.com"], days: -1 });
    const r = check({ certificatePem: expired.certificatePem, privateKeyPem: expired.privateKeyPem });
    assert.deepEqual(r.problems.length, 1, r.problems.join("\n"));
    assert.match(r.problems[0]!, /^certificates\.star-tving\.certificate: the certificate expired on \d{4}-\d\d-\d\dT/);
  });

  test("a certificate missing a server name is refused, listing what it does cover", () => {
    const narrow = makePem({ names: ["image-origin.tving.com"], days: 30 });
    const r = check({ certificatePem: narrow.certificatePem, privateKeyPem: narrow.privateKeyPem });
    assert.deepEqual(r.problems, [
      "certificates.star-tving.certificate: does not cover stillshot-origin.tving.com (the certificate names image-origin.tving.com; a wildcard covers one label)",
    ]);
  });

  test("a wildcard does not cover the bare domain or a deeper name", () => {
    const r = check({ names: ["tving.com", "a.b.tving.com", "img.tving.com"], certificatePem: other.certificatePem, privateKeyPem: other.privateKeyPem });
    assert.match(r.problems[0]!, /does not cover tving\.com, a\.b\.tving\.com \(/);
  });

  test("a certificate with only a CN is refused: clients match the subjectAltName", () => {
    const cnOnly = makePem({ names: [], subject: "/CN=image-origin.tving.com" });
    const r = check({ certificatePem: cnOnly.certificatePem, privateKeyPem: cnOnly.privateKeyPem });
    assert.match(r.problems.join("\n"), /no DNS subjectAltName; clients ignore the CN/);
  });

  test("a certificate close to expiry passes with a warning", () => {
    const soon = makePem({ names: ["*.tving.com"], days: 10 });
    const r = check({ certificatePem: soon.certificatePem, privateKeyPem: soon.privateKeyPem });
    assert.deepEqual(r.problems, []);
    assert.match(r.warnings[0]!, /^certificates\.star-tving\.certificate: the certificate expires on .* in \d days: renew it$/);
  });

  test("a certificate that is not valid yet is refused", () => {
    const r = check({ now: new Date(Date.now() - 2 * 86_400_000) });
    assert.match(r.problems.join("\n"), /is not valid before/);
  });

  test("a missing, garbled, encrypted or weak key is refused without echoing it", () => {
    assert.match(check({ privateKeyPem: undefined }).problems[0]!, /^tlsPrivateKeys\.star-tving: .* is supplied but its private key is not set \(pulumi config set --secret --path 'tlsPrivateKeys\.star-tving'/);
    assert.match(check({ privateKeyPem: "hunter2" }).problems[0]!, /^tlsPrivateKeys\.star-tving: not a PEM private key/);
    const garbled = star.privateKeyPem.replace(/\n[A-Za-z0-9+/]{20}/, "\nAAAAAAAAAAAAAAAAAAAA");
    const g = check({ privateKeyPem: garbled });
    assert.match(g.problems[0]!, /^tlsPrivateKeys\.star-tving: (the PEM private key does not parse|does not match)/);
    const encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert.match(check({ privateKeyPem: encrypted }).problems[0]!, /encrypted; nginx would need ssl_password_file/);
    const weak = makePem({ names: NAMES, key: "rsa:1024" });
    const w = check({ certificatePem: weak.certificatePem, privateKeyPem: weak.privateKeyPem });
    assert.match(w.problems.join("\n"), /a 1024-bit RSA key; OpenSSL's default security level refuses keys under 2048 bits/);
    assertNoKeyMaterial([...g.problems, ...w.problems], star.privateKeyPem, weak.privateKeyPem);
  });

  test("a chain is accepted leaf first and refused in the wrong order", () => {
    const ca = makePem({ names: [], subject: "/CN=Test Intermediate", isCa: true, days: 400 });
    const leaf = makePem({ names: ["*.tving.com"], ca, days: 90 });
    const ordered = check({ certificatePem: leaf.certificatePem + ca.certificatePem, privateKeyPem: leaf.privateKeyPem });
    assert.deepEqual(ordered.problems, []);
    const reversed = check({ certificatePem: ca.certificatePem + leaf.certificatePem, privateKeyPem: leaf.privateKeyPem });
    assert.match(reversed.problems.join("\n"), /certificate 2 of the chain did not issue certificate 1; order the chain leaf first/);
  });

  test("the stack file's placeholder is refused as such, whatever key comes with it", () => {
    const placeholder = makePem({ names: ["*.tving.com", "tving.com"], subject: "/CN=*.tving.com/O=PLACEHOLDER replace me" });
    const r = check({ certificatePem: placeholder.certificatePem, privateKeyPem: placeholder.privateKeyPem });
    assert.match(r.problems[0]!, /^certificates\.star-tving\.certificate: still the placeholder certificate of the stack file/);
  });

  test("garbage instead of a certificate is refused without a crash", () => {
    const r = check({ certificatePem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" });
    assert.deepEqual(r.problems, ["certificates.star-tving.certificate: certificate 1 of the chain does not parse as X.509 (damaged PEM?)"]);
  });
});
