// A TLS certificate every master serves for the domains that name it. Supplied and
// self-signed ones are uploaded into the masters: the chain, and the private key (always a
// secret, so it never appears in plain text in state, outputs or logs). An acme certificate
// is issued and renewed on the hosts, outside Pulumi, by the AcmeIssuer: this component
// reports what its first issuance gave. The stack outputs say where the masters read it,
// its SHA-256 fingerprint and its expiry; never the key.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { certificateFacts } from "../certs.js";
import type { CertificateSpec } from "../config.js";
import type { AcmeCertificatePlan, CertificatePlan } from "../topology.js";
import type { Issuance } from "./acmeIssuer.js";

export const CERTIFICATE_TYPE = "image-origin:cluster:Certificate";

/** The Certificate component's name for certificate `id`. */
export const certificateName = (id: string) => `cert-${id}`;

export interface CertificateArgs {
  plan: CertificatePlan;
  spec: CertificateSpec;
  /** Where masters read the certificate and key (from the plan). */
  paths: { certificate: string; key: string };
  /** The private key of a supplied certificate (from `tlsPrivateKeys.<id>`), already validated. */
  suppliedKey?: pulumi.Output<string>;
  /** acme: who issues it and what the first issuance gave. */
  acme?: AcmeArgs;
}

export interface AcmeArgs {
  certificate: AcmeCertificatePlan;
  /** The issuer host's name. */
  issuer: string;
  issuance: Issuance;
}

/** What `pulumi stack output certificates` shows per certificate. */
export interface CertificateOutputs {
  mode: CertificateSpec["mode"];
  names: string[];
  /** Inside every master container. */
  paths: { certificate: string; key: string };
  /** SHA-256 of the leaf, `AB:CD:...` as openssl prints it (acme: as issued at the last `up`). */
  fingerprint: pulumi.Output<string>;
  /** ISO 8601 (UTC) (acme: of the certificate at the last `up`; renewals follow on the hosts). */
  notAfter: pulumi.Output<string>;
  /** acme: who issues and renews, against which server, how early. */
  acme?: { issuer: string; renewer: string; server: string; challenge: string; renewBeforeDays: number };
}

export class Certificate extends pulumi.ComponentResource {
  /** Supplied and self-signed: the chain and key the masters get (acme: unset). */
  readonly certPem?: pulumi.Output<string>;
  readonly keyPem?: pulumi.Output<string>;
  readonly outputs: CertificateOutputs;

  constructor(name: string, args: CertificateArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(CERTIFICATE_TYPE, name, {}, opts);
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
      case "acme": {
        if (args.acme === undefined) throw new Error(`certificate "${plan.id}" is acme but has no issuer`);
        const { issuance } = args.acme;
        this.outputs = {
          mode: spec.mode,
          names: plan.names,
          paths: args.paths,
          fingerprint: issuance.fingerprint,
          notAfter: issuance.notAfter,
          acme: {
            issuer: args.acme.issuer,
            renewer: issuance.renewer,
            server: args.acme.certificate.server,
            challenge: args.acme.certificate.challenge,
            renewBeforeDays: args.acme.certificate.renewBeforeDays,
          },
        };
        this.registerOutputs({ fingerprint: this.outputs.fingerprint, notAfter: this.outputs.notAfter });
        return;
      }
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
