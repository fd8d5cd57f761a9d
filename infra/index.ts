// `pulumi up` entry point: read and validate the stack config, then build the cluster.
// An invalid config fails here, listing every problem, before any resource exists.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, PROJECT, SECRET_KEYS, fromStackConfig, parseClusterSpec } from "./config.js";
import { deployCluster, type ClusterInputs } from "./program.js";

/** Structured config arrives as JSON text; plain scalars arrive as they were written. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A secret map such as `tlsPrivateKeys` (decrypted by the engine): certificate id -> file text. */
function secretMap(values: Record<string, unknown>, key: string): Record<string, string> {
  const value = values[`${PROJECT}:${key}`];
  if (value === undefined) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError([`${key}: expected a map of certificate id to file text (pulumi config set --secret --path '${key}.<id>' ...)`]);
  }
  const problems: string[] = [];
  const map: Record<string, string> = {};
  for (const [id, text] of Object.entries(value)) {
    if (typeof text === "string") map[id] = text;
    else problems.push(`${key}.${id}: expected the file's text (set it with pulumi config set --secret --path '${key}.${id}' -- "$(cat file)")`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return map;
}

/** A secret list such as `resizerSigningKeys`. */
function secretList(values: Record<string, unknown>, key: string): string[] {
  const value = values[`${PROJECT}:${key}`];
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === "string")) {
    throw new ConfigError([`${key}: expected a list of strings (pulumi config set --secret --path '${key}[0]' -- "$(openssl rand -base64 32)")`]);
  }
  return value;
}

function readInputs(): ClusterInputs {
  const all = pulumi.runtime.allConfig();
  const values = Object.fromEntries(Object.entries(all).map(([key, text]) => [key, parseValue(text)]));
  const spec = parseClusterSpec(fromStackConfig(values));
  return {
    spec,
    secrets: {
      tlsPrivateKeys: secretMap(values, SECRET_KEYS.tlsPrivateKeys),
      acmeDnsCredentials: secretMap(values, SECRET_KEYS.acmeDnsCredentials),
      resizerSigningKeys: secretList(values, SECRET_KEYS.resizerSigningKeys),
    },
  };
}

function main() {
  try {
    return deployCluster(readInputs());
  } catch (err) {
    // A RunError prints the message alone, without a stack trace.
    if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
    throw err;
  }
}

const outputs = main();
export const hosts = outputs.hosts;
export const vip = outputs.vip;
export const resizerImage = outputs.resizerImage;
export const rollout = outputs.rollout;
export const certificates = outputs.certificates;
export const monitoring = outputs.monitoring;
