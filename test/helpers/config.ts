// The small valid cluster config the config tests start from, and the problems the schema
// reports for it once a case has changed it.
import assert from "node:assert/strict";
import { ConfigError, parseClusterSpec, type ClusterSpecInput } from "../../infra/config.js";

export type ConfigCase = ClusterSpecInput & Record<string, any>;

/** Two hosts (the second with a non-default ssh port), two domains, a VIP. */
export function baseConfig(): ConfigCase {
  return {
    hosts: [
      { name: "img01", address: "172.18.141.51", docker: "ssh://deploy@172.18.141.51" },
      { name: "img02", address: "172.18.141.52", docker: "ssh://deploy@172.18.141.52:2222" },
    ],
    domains: [
      { id: "image-origin", serverNames: ["image-origin.example.com"], certificate: "star" },
      { id: "stillshot-origin", serverNames: ["stillshot-origin.example.com"], notFoundStatus: 400, certificate: "star" },
    ],
    certificates: { star: { mode: "selfSigned" } },
    vip: { address: "180.182.43.12" },
  };
}

/** Every problem the schema reports for a fresh `baseConfig()` changed by `mutate`, as
 *  `path: message`; none when it is accepted. */
export function configProblems(mutate: (cfg: ConfigCase) => void): string[] {
  const cfg = baseConfig();
  mutate(cfg);
  try {
    parseClusterSpec(cfg);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  return [];
}
