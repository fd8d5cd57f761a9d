// The cluster's internal CA for the ACME bundle channel: the issuer's publisher proves it
// is the issuer (IP SAN = its address) and each follower proves it is a host of this
// cluster (a client certificate per host). Kept in Pulumi state, keys as secrets; nothing
// else trusts this CA.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

export interface TlsSyncPkiArgs {
  issuer: { name: string; address: string };
  followers: { name: string; address: string }[];
}

/** PEM pair for one party; the key (and anything containing it) is a secret. */
export interface Party {
  certPem: pulumi.Output<string>;
  keyPem: pulumi.Output<string>;
}

/** Internal, so long-lived; re-issued by `pulumi up` in the last year (CA) or 90 days (leaves). */
const CA_HOURS = 10 * 365 * 24;
const LEAF_HOURS = 2 * 365 * 24;

export class TlsSyncPki extends pulumi.ComponentResource {
  readonly caCertPem: pulumi.Output<string>;
  readonly server: Party;
  readonly clients: Record<string, Party>;

  constructor(name: string, args: TlsSyncPkiArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("image-origin:cluster:TlsSyncPki", name, {}, opts);
    const child = { parent: this };
    const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, child);
    const ca = new tls.SelfSignedCert(
      `${name}-ca`,
      {
        privateKeyPem: caKey.privateKeyPem,
        subject: { commonName: "image-origin tls-sync CA", organization: "image-origin" },
        isCaCertificate: true,
        validityPeriodHours: CA_HOURS,
        earlyRenewalHours: 365 * 24,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
      },
      child,
    );
    this.caCertPem = ca.certPem;

    const leaf = (leafName: string, subject: string, uses: string[], ipAddresses: string[]): Party => {
      const key = new tls.PrivateKey(`${leafName}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, child);
      const csr = new tls.CertRequest(`${leafName}-csr`, { privateKeyPem: key.privateKeyPem, subject: { commonName: subject, organization: "image-origin" }, ipAddresses }, child);
      const cert = new tls.LocallySignedCert(
        leafName,
        {
          certRequestPem: csr.certRequestPem,
          caPrivateKeyPem: caKey.privateKeyPem,
          caCertPem: ca.certPem,
          validityPeriodHours: LEAF_HOURS,
          earlyRenewalHours: 90 * 24,
          allowedUses: ["digital_signature", ...uses],
        },
        child,
      );
      return { certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
    };

    this.server = leaf(`${name}-${args.issuer.name}-server`, args.issuer.name, ["key_encipherment", "server_auth"], [args.issuer.address]);
    this.clients = Object.fromEntries(args.followers.map((f) => [f.name, leaf(`${name}-${f.name}-client`, f.name, ["client_auth"], [])]));
    this.registerOutputs({ caCertPem: this.caCertPem });
  }
}
