// A TLS certificate every master serves for the domains that name it. Its outputs feed the
// masters (PEM chain, and the private key: always a secret, so it never appears in plain
// text in state, outputs or logs) and the stack outputs (where the masters read it, its
// SHA-256 fingerprint and expiry; never the key).
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { certificateFacts } from "../certs.js";
import type { Certificate as CertificateSpec } from "../config.js";
import type { CertificatePlan } from "../topology.js";

export interface CertificateArgs {
  plan: CertificatePlan;
  spec: CertificateSpec;
  /** Where masters read the certificate and key (from the plan). */
  paths: { certificate: string; key: string };
  /** The private key of a supplied certificate (from `tlsPrivateKeys.<id>`), already validated. */
  suppliedKey?: pulumi.Output<string>;
}

/** What `pulumi stack output certificates` shows per certificate. */
export interface CertificateOutputs {
  mode: CertificateSpec["mode"];
  names: string[];
  /** Inside every master container. */
  paths: { certificate: string; key: string };
  /** SHA-256 of the leaf, `AB:CD:...` as openssl prints it. */
  fingerprint: pulumi.Output<string>;
  /** ISO 8601 (UTC). */
  notAfter: pulumi.Output<string>;
}

export class Certificate extends pulumi.ComponentResource {
  readonly certPem: pulumi.Output<string>;
  readonly keyPem: pulumi.Output<string>;
  readonly outputs: CertificateOutputs;

  constructor(name: string, args: CertificateArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("image-origin:cluster:Certificate", name, {}, opts);
    const { plan, spec } = args;
    switch (spec.mode) {
      case "supplied": {
        if (args.suppliedKey === undefined) {
          throw new Error(`certificate "${plan.id}" is supplied but image-origin:tlsPrivateKeys.${plan.id} is not set`);
        }
        this.certPem = pulumi.output(spec.certificate);
        this.keyPem = pulumi.secret(args.suppliedKey);
        break;
      }
      case "selfSigned": {
        // Generated once per stack and kept in state: no new key, no master restart, on
        // later `up`s; replaced only when the names change or renewal is due.
        const key = new tls.PrivateKey(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this, dependsOn: opts.dependsOn });
        const cert = new tls.SelfSignedCert(
          `${name}-cert`,
          {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: plan.names[0] ?? plan.id, organization: "image-origin (self-signed)" },
            dnsNames: plan.names,
            validityPeriodHours: spec.validityDays * 24,
            earlyRenewalHours: Math.min(30, Math.floor(spec.validityDays / 3)) * 24,
            allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
          },
          { parent: this },
        );
        this.certPem = cert.certPem;
        this.keyPem = pulumi.secret(key.privateKeyPem);
        break;
      }
      case "acme":
        throw new Error(`certificate "${plan.id}": acme mode is not available in this version`);
    }
    // Facts are read from the public chain only.
    const facts = this.certPem.apply((pem) => certificateFacts(pem));
    this.outputs = {
      mode: spec.mode,
      names: plan.names,
      paths: args.paths,
      fingerprint: facts.apply((f) => f.fingerprint),
      notAfter: facts.apply((f) => f.notAfter),
    };
    this.registerOutputs({ certPem: this.certPem, fingerprint: this.outputs.fingerprint, notAfter: this.outputs.notAfter });
  }
}
