// @pulumi/policy unwraps secrets before rules see a resource's inputs (server.js calls
// deserializeProperties(props, false) for validation), so a rule cannot tell a key sent as
// a secret from one sent in plain text. The engine does mark them (its analyzer plugin
// marshals with KeepSecrets). This wraps the package's deserializer to note, for each
// resource, where the markers were, before they are dropped; rules.ts reads the note.
// Pinned to @pulumi/policy 1.21.0; test/policy/pack.test.ts runs the pack as the CLI does
// and fails if the hook stops seeing secrets.
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { markSecretPaths } from "./rules.js";

interface Struct {
  toJavaScript(): unknown;
}
type Deserialize = (struct: Struct, proxySecrets: boolean) => Record<string, unknown>;

/** Dotted paths of the secret values in a marshalled property map. */
export function secretPathsIn(value: unknown, path = "", out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v, i) => secretPathsIn(v, path ? `${path}.${i}` : String(i), out));
  else if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[specialSigKey] === specialSecretSig) out.push(path);
    else for (const [k, v] of Object.entries(obj)) secretPathsIn(v, path ? `${path}.${k}` : k, out);
  }
  return out;
}

let installed = false;

export function recordSecretInputs(): void {
  if (installed) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require("@pulumi/policy/deserialize") as { deserializeProperties: Deserialize };
  const original = mod.deserializeProperties;
  if (typeof original !== "function") throw new Error("@pulumi/policy changed: deserializeProperties is gone, the secret hook cannot run");
  mod.deserializeProperties = (struct, proxySecrets) => {
    const props = original(struct, proxySecrets);
    markSecretPaths(props, secretPathsIn(struct.toJavaScript()));
    return props;
  };
  installed = true;
}
