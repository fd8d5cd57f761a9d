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

function readInputs(): ClusterInputs {
  const all = pulumi.runtime.allConfig();
  const values = Object.fromEntries(Object.entries(all).map(([key, text]) => [key, parseValue(text)]));
  const spec = parseClusterSpec(fromStackConfig(values));
  const keysName = `${PROJECT}:${SECRET_KEYS.tlsPrivateKeys}`;
  const present = values[keysName];
  const privateKeyIds = present !== null && typeof present === "object" ? Object.keys(present) : [];
  const privateKeys = new pulumi.Config(PROJECT).getSecretObject<Record<string, string>>(SECRET_KEYS.tlsPrivateKeys);
  return { spec, privateKeyIds, privateKeys };
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
