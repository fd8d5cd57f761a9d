// Stack files (`Pulumi.<stack>.yaml`) read without the Pulumi CLI: the render command,
// `npm start` and the tests share this. Pure: text in, values out.
import { parse as parseYaml } from "yaml";
import { ConfigError, fromStackConfig, parseClusterSpec, type ClusterSpec } from "./config.js";

/** Stack names become file names: keep them to Pulumi's own character set. */
export const stackName = /^[A-Za-z0-9_.-]+$/;

export function stackFileName(stack: string): string {
  if (!stackName.test(stack)) throw new ConfigError([`stack: "${stack}" is not a stack name (letters, digits, _ . -)`]);
  return `Pulumi.${stack}.yaml`;
}

/** The `config:` map of a stack file, keys as written (`image-origin:hosts`, ...). */
export function parseStackYaml(text: string, file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError([`${file}: not valid YAML: ${(err as Error).message.split("\n")[0]}`]);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new ConfigError([`${file}: expected a mapping with a config: key`]);
  const config = (doc as { config?: unknown }).config;
  if (config === undefined || config === null) return {};
  if (typeof config !== "object" || Array.isArray(config)) throw new ConfigError([`${file}: config: must be a mapping`]);
  return config as Record<string, unknown>;
}

/** Stack file text -> validated spec (secrets are not read). */
export function specFromStackYaml(text: string, file: string): ClusterSpec {
  return parseClusterSpec(fromStackConfig(parseStackYaml(text, file)));
}
