// A TLS certificate every master serves for the domains that name it. Supplied and
// self-signed ones are uploaded into the masters: the chain, and the private key (always a
// secret, so it never appears in plain text in state, outputs or logs). An acme certificate
// is issued and renewed on the hosts, outside Pulumi: this component runs its renewer on the
// issuer host and waits for the first result. The stack outputs say where the masters read
// it, its SHA-256 fingerprint and its expiry; never the key.
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { ISSUANCE_TIMEOUT_SECONDS, dnsCredentialsPath, issuanceGateCommand, parseRenewerStatus, renewerPaths, renewerScript, scriptBoot, scriptPath } from "../acme.js";
import { certificateFacts } from "../certs.js";
import type { CertificateSpec } from "../config.js";
import type { AcmeCertificatePlan, CertificatePlan, HostPlan } from "../topology.js";
import { CERTBOT_IMAGE_VOLUMES } from "./acmeAgents.js";
import { CONTAINER_USERS, hardened } from "./hardening.js";

export interface CertificateArgs {
  plan: CertificatePlan;
  spec: CertificateSpec;
  /** Where masters read the certificate and key (from the plan). */
  paths: { certificate: string; key: string };
  /** The private key of a supplied certificate (from `tlsPrivateKeys.<id>`), already validated. */
  suppliedKey?: pulumi.Output<string>;
  /** acme: where and with what the renewer runs. */
  acme?: AcmeArgs;
}

export interface AcmeArgs {
  certificate: AcmeCertificatePlan;
  /** The issuer host's plan (its acme part names the renewer) and what ImageHost made there. */
  issuer: HostPlan;
  provider: docker.Provider;
  network: pulumi.Input<string>;
  volume: pulumi.Input<string>;
  image: pulumi.Input<string>;
  /** The DNS plugin's credentials file (dns-01; the secret `acmeDnsCredentials.<id>`). */
  dnsCredentials?: pulumi.Output<string>;
  /** Everything the first validation needs: every master up with the challenge fallback. */
  after: pulumi.Resource[];
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

function renewerOf(acme: AcmeArgs): { name: string; runDir: string } {
  const renewer = acme.issuer.acme?.renewers.find((r) => r.id === acme.certificate.id);
  if (renewer === undefined) throw new Error(`${acme.issuer.name} runs no renewer for "${acme.certificate.id}"`);
  return renewer;
}

function asArray(deps: pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource> | undefined): pulumi.Input<pulumi.Resource>[] {
  if (deps === undefined) return [];
  return Array.isArray(deps) ? deps : [deps as pulumi.Input<pulumi.Resource>];
}

export class Certificate extends pulumi.ComponentResource {
  /** Supplied and self-signed: the chain and key the masters get (acme: unset). */
  readonly certPem?: pulumi.Output<string>;
  readonly keyPem?: pulumi.Output<string>;
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
      case "acme": {
        if (args.acme === undefined) throw new Error(`certificate "${plan.id}" is acme but has no issuer`);
        const issued = this.renewer(name, args.acme, opts);
        this.outputs = {
          mode: spec.mode,
          names: plan.names,
          paths: args.paths,
          fingerprint: issued.apply((s) => s.fingerprint ?? ""),
          notAfter: issued.apply((s) => s.notAfter ?? ""),
          acme: {
            issuer: args.acme.issuer.name,
            renewer: renewerOf(args.acme).name,
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

  /**
   * The renewer container on the issuer (certbot's image, as nginx's uid, read-only root,
   * no capabilities; it talks to the ACME server and writes the issuer's acme volume) and
   * the gate that waits for its first result, so a failed issuance fails `pulumi up` with
   * certbot's reason instead of passing silently.
   */
  private renewer(name: string, acme: AcmeArgs, opts: pulumi.ComponentResourceOptions): pulumi.Output<{ fingerprint?: string; notAfter?: string }> {
    const { certificate: cert, issuer } = acme;
    const renewer = renewerOf(acme);
    const hostAcme = issuer.acme!;
    const paths = renewerPaths(hostAcme, cert.id);
    const dns = cert.challenge === "dns-01";
    if (dns && acme.dnsCredentials === undefined) throw new Error(`certificate "${cert.id}": dns-01 needs acmeDnsCredentials.${cert.id}`);
    const credentials = dnsCredentialsPath(renewer.runDir);
    const envs: pulumi.Input<pulumi.Input<string>[]> = [
      `HOME=${renewer.runDir}`,
      ...(dns && cert.dnsPlugin === "route53" ? [`AWS_SHARED_CREDENTIALS_FILE=${credentials}`] : []),
    ];
    const container = new docker.Container(
      renewer.name,
      {
        name: renewer.name,
        image: acme.image,
        entrypoints: ["/bin/sh", "-c", scriptBoot(renewer.runDir, "renewer", dns ? [{ env: "ACME_DNS_CREDENTIALS", path: credentials }] : [], ["loop"]), "renewer"],
        command: [renewerScript(cert, renewer.name, paths)],
        envs: dns ? pulumi.secret(pulumi.all([...(envs as string[]), pulumi.interpolate`ACME_DNS_CREDENTIALS=${acme.dnsCredentials!}`])) : envs,
        networkMode: acme.network,
        mounts: [{ type: "volume", source: acme.volume, target: hostAcme.dir }],
        ...hardened({
          user: CONTAINER_USERS.nginx,
          memoryMb: 256,
          nofile: 1024,
          tmpfs: { [renewer.runDir]: "16m", ...CERTBOT_IMAGE_VOLUMES },
          stopSignal: "SIGTERM",
          healthcheck: { tests: ["CMD", "sh", scriptPath(renewer.runDir, "renewer"), "health"], interval: "1m", timeout: "10s", retries: 1, startPeriod: "10m" },
        }),
        // The gate below waits for the first result with a clearer message than Docker's.
        wait: false,
      },
      { parent: this, provider: acme.provider, dependsOn: [...acme.after, ...asArray(opts.dependsOn)], deleteBeforeReplace: true },
    );
    const gate = new command.local.Command(
      `${name}-issued`,
      {
        create: issuanceGateCommand(issuer, renewer, cert.id, ISSUANCE_TIMEOUT_SECONDS),
        // Asked again whenever the renewer is replaced (its config changed).
        triggers: [container.id],
      },
      { parent: this, dependsOn: [container] },
    );
    return gate.stdout.apply((out) => parseRenewerStatus(out));
  }
}
