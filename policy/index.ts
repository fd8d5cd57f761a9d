// The image-origin policy pack: `pulumi preview --policy-pack policy` (after
// `npm run build --workspace policy`). Constructing the PolicyPack starts the analyzer's
// gRPC server, so this module only wires: the rules live in rules.ts.
import { PolicyPack } from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import { contextFromStackConfig, policies } from "./rules.js";
import { recordSecretInputs } from "./secrets.js";

recordSecretInputs();

new PolicyPack("image-origin", {
  // The engine passes the stack's config to the pack (PULUMI_CONFIG): the hosts and their addresses.
  policies: policies(contextFromStackConfig(pulumi.runtime.allConfig())),
});
