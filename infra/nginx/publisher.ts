// The ACME issuer's bundle publisher: a tiny nginx that serves the issuer's published
// certificate bundles to the other hosts' sync agents, over mutual TLS, to their addresses
// only. Never registered on the L4. Pure: plan in, nginx.conf text out.
import type { HostAcmePlan } from "../topology.js";
import { block, comment, config, d, section, why, type Config } from "./ast.js";
import { listenAddress } from "./common.js";
import { print } from "./print.js";

/** Files the publisher reads from its tmpfs (written from Pulumi secrets when it starts). */
export const publisherFiles = (runDir: string) => ({
  config: `${runDir}/nginx.conf`,
  /** Its own key and certificate in one file (IP SAN = the issuer's address). */
  server: `${runDir}/server.pem`,
  /** The cluster's internal CA: the only issuer of acceptable client certificates. */
  ca: `${runDir}/ca.pem`,
  pid: `${runDir}/nginx.pid`,
  temp: `${runDir}/temp`,
});

export function publisherConfig(acme: HostAcmePlan, certificateIds: readonly string[]): Config {
  const pub = acme.publisher;
  if (pub === undefined) throw new Error(`${acme.sync.name}: this host publishes no certificates`);
  const files = publisherFiles(pub.runDir);
  return config([
    comment(
      `${pub.name}: serves the issuer's certificate bundles to the other hosts' sync agents,\n` +
        "rendered by infra/nginx/publisher.ts. Do not edit.",
    ),
    d("worker_processes", 1),
    d("pid", files.pid),
    d("error_log", "stderr"),
    block("events", [], [d("worker_connections", 64)]),
    block("http", [], [
      d("default_type", "application/x-pem-file"),
      d("server_tokens", "off"),
      d("access_log", pub.accessLog),
      section(
        "Temp files in the container's tmpfs (nothing is ever buffered here: bundles are small).",
        (["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] as const).map((kind) => d(`${kind}_temp_path`, `${files.temp}/${kind}`)),
      ),
      block("server", [], [
        d("listen", listenAddress(pub.listen), "ssl"),
        section(
          "Bundles hold private keys: only the other hosts' addresses, and only with a client\n" +
            "certificate of the cluster's internal CA (one per host, made by Pulumi).",
          [
            ...pub.allow.map((address) => d("allow", address)),
            d("deny", "all"),
            d("ssl_protocols", "TLSv1.3"),
            d("ssl_certificate", files.server),
            d("ssl_certificate_key", files.server),
            d("ssl_client_certificate", files.ca),
            d("ssl_verify_client", "on"),
            d("ssl_verify_depth", 1),
          ],
        ),
        ...certificateIds.map((id) => block("location", ["=", `/${id}.pem`], [d("alias", `${acme.outboxDir}/${id}.pem`)])),
        why("Nothing else.", block("location", ["/"], [d("return", 404)])),
      ]),
    ]),
  ]);
}

export function renderPublisher(acme: HostAcmePlan, certificateIds: readonly string[]): string {
  return print(publisherConfig(acme, certificateIds));
}
