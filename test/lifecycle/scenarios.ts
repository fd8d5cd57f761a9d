// The scenario table: "state after `up` of A, then the program of B", for the changes an
// operator makes to the prod stack, each with what `up` does: the steps per resource, the
// containers that restart (or only reload), the most hosts out of the VIP at once and the
// line `pulumi preview` prints. README.md ("What a change does") says the same in words,
// generated from this table (facts-doc.ts).
import { makePem } from "../helpers/certs.js";
import type { StepKind } from "../../infra/lifecycle/engine.js";
import type { Change, Stack } from "./run.js";

/** Issue 13's hazards: what the model showed before the fixes, and the fix that makes the engine do the right thing. */
export const HAZARDS: Record<string, { was: string; fix: string }> = {
  "1": {
    was: "cpus sent as \"2\" is read back as \"2.0\" (ForceNew): every `up` replaced every resizer; memory_swap unset read back as 2 x memory and healthcheck durations as Go prints them: updates after every create",
    fix: "values sent in the provider's own form (providerForm.ts), memory_swap = memory, healthcheck and tmpfs in replaceOnChanges (the provider's update never applies them)",
  },
  "2": {
    was: "a subnet change deleted the containers of every host at once (delete-before-replace of `<host>-net` deletes its dependents when it registers)",
    fix: "`<host>-net` waits for the previous host's gate (serial rollout); under `rollout: parallel` the `network-guard` refuses the change before anything is deleted",
  },
  "3": {
    was: "deliveries streamed images the operator's engine might not hold (docker.Image's read never looks; RemoteImage looks on refresh only): a fresh machine failed at `docker save`",
    fix: "one delivery per image that builds or pulls what the operator's engine lacks and skips a host that holds the ref",
  },
  "4": {
    was: "every container took its image id from one delivery whose output was unknown in a preview of any image change: a resizer change previewed 35 nginx replacements",
    fix: "each container takes its id from its own image's delivery",
  },
  "5": {
    was: "nothing drained a master before its deletion, and the gate passed at the first 200, before the L4 had taken the host back",
    fix: "`<host>-master-drain`, whose delete (run by the engine before the master's) sets the drain flag and waits fall x interval + timeout; a gate that waits for rise good checks",
  },
  "6": {
    was: "the resizer's build context was the whole repository minus a few directories",
    fix: ".dockerignore sends exactly what resizer/Dockerfile copies (a test keeps the two equal)",
  },
};

export interface Expected {
  /**
   * Every resource whose step is not `same`, by name. `{h}` expands to each host in
   * `hosts`; a key ending in `*` matches every resource whose name starts with the rest.
   */
  steps: Record<string, StepKind>;
  restarts: string[];
  started: string[];
  stopped: string[];
  reloads: string[];
  maxHostsOut: number;
  undrainedMasters: string[];
  /** The preview line without its unchanged count (that is "every other resource"). */
  preview: string;
  freshMachineDeliveryFailures: string[];
}

export interface Scenario {
  id: string;
  stack: Stack;
  /** What the operator changes, as the README table says it. */
  change: string;
  /** What `up` does, in words (the README table). */
  does: string;
  apply: Change | ((ctx: { resizerHash: string }) => Change);
  /** Hosts `{h}` expands to. */
  hosts: string[];
  expected: Expected;
}

export const PROD_HOSTS = ["img01", "img02", "img03", "img04", "img05"];
const each = (names: string[], hosts = PROD_HOSTS) => hosts.flatMap((h) => names.map((n) => n.replace("{h}", h)));
const none: Pick<Expected, "restarts" | "started" | "stopped" | "reloads" | "undrainedMasters" | "freshMachineDeliveryFailures"> = {
  restarts: [],
  started: [],
  stopped: [],
  reloads: [],
  undrainedMasters: [],
  freshMachineDeliveryFailures: [],
};
const NGINX = ["{h}-master", "{h}-slave01", "{h}-slave02"];
const RESIZERS = ["{h}-resizer01", "{h}-resizer02", "{h}-resizer03", "{h}-resizer04"];
const reloadOnly = { "{h}-master-files": "replace", "{h}-master-reload": "replace", "{h}-healthy": "replace" } as const;
const withConfig = (key: string, update: (value: any, config: Record<string, unknown>) => unknown) => (config: Record<string, unknown>) => ({
  ...config,
  [`image-origin:${key}`]: update(structuredClone(config[`image-origin:${key}`]), config),
});

export const SCENARIOS: Scenario[] = [
  {
    id: "no-change",
    stack: "prod",
    change: "nothing (a second `pulumi up`)",
    does: "nothing: zero steps, a clean preview",
    apply: {},
    hosts: PROD_HOSTS,
    expected: { steps: {}, ...none, maxHostsOut: 0, preview: "" },
  },
  {
    id: "master-config",
    stack: "prod",
    change: "a master setting (`nginx.proxy.slaveReadTimeout` 5s -> 7s)",
    does: "host by host: the master's files are checked and installed, the master reloads (SIGHUP) and the gate checks the host again; no container restarts",
    apply: { config: withConfig("nginx", (v) => ({ ...v, proxy: { slaveReadTimeout: "7s" } })) },
    hosts: PROD_HOSTS,
    expected: { steps: { ...reloadOnly }, ...none, reloads: each(["{h}-master"]), maxHostsOut: 0, preview: "+- 15 to replace" },
  },
  {
    id: "certificate-renewal",
    stack: "prod",
    change: "a renewed supplied certificate (`certificates.<id>.certificate` and its key)",
    does: "the new pair is installed into every master, host by host, and each reloads; no restart",
    apply: {
      config: (config) => {
        const pem = makePem({ names: ["*.tving.com", "tving.com"], days: 398 });
        return withConfig("certificates", (v) => ({ ...v, "star-tving": { ...v["star-tving"], certificate: pem.certificatePem } }))({
          ...config,
          "image-origin:tlsPrivateKeys": { "star-tving": pem.privateKeyPem },
        });
      },
    },
    hosts: PROD_HOSTS,
    expected: { steps: { ...reloadOnly }, ...none, reloads: each(["{h}-master"]), maxHostsOut: 0, preview: "+- 15 to replace" },
  },
  {
    id: "slave-max-fails",
    stack: "prod",
    change: "a slave's upstream parameter (`slaves[].maxFails` 2 -> 3)",
    does: "the masters' upstream block changes: files installed, masters reload; the slaves are untouched",
    apply: { config: withConfig("slaves", (v: Record<string, unknown>[]) => v.map((s) => ({ ...s, maxFails: 3 }))) },
    hosts: PROD_HOSTS,
    expected: { steps: { ...reloadOnly }, ...none, reloads: each(["{h}-master"]), maxHostsOut: 0, preview: "+- 15 to replace" },
  },
  {
    id: "resizer-code",
    stack: "prod",
    change: "resizer code (a file under `resizer/src`)",
    does: "the image is built under a new tag (by the first host's delivery) and delivered; each host's resizers are replaced one at a time, each followed by its settle pause, and its ops agent (the same image) is replaced; nginx untouched, and the preview says so",
    apply: ({ resizerHash }) => ({ rewrite: [[resizerHash, "0123456789abcdef"]] }),
    hosts: PROD_HOSTS,
    expected: {
      steps: {
        "{h}-images-resizer": "replace",
        ...Object.fromEntries(RESIZERS.map((r) => [r, "replace"])),
        "{h}-resizer01-settled": "replace",
        "{h}-resizer02-settled": "replace",
        "{h}-resizer03-settled": "replace",
        "{h}-healthy": "replace",
        "{h}-ops": "replace",
      },
      ...none,
      restarts: each([...RESIZERS, "{h}-ops"]),
      maxHostsOut: 0,
      preview: "+- 50 to replace",
    },
  },
  {
    id: "nginx-image",
    stack: "prod",
    change: "the nginx image (`images.nginx` to a new pinned tag)",
    does: "pulled once, delivered; host by host: the one-shots run again, the slaves are replaced one at a time (settle pause between), then the master is drained and replaced; the next host starts once the L4 has taken this one back",
    apply: { config: withConfig("images", (v) => ({ ...v, nginx: "nginx:1.28.1-bookworm" })) },
    hosts: PROD_HOSTS,
    expected: {
      steps: {
        "{h}-images-nginx": "replace",
        "{h}-cache-owner": "replace",
        "{h}-slave01-files": "replace",
        "{h}-slave02-files": "replace",
        "{h}-master-files": "replace",
        "{h}-slave01": "replace",
        "{h}-slave02": "replace",
        "{h}-master": "replace",
        "{h}-slave01-settled": "replace",
        "{h}-master-drain": "replace",
        "{h}-healthy": "replace",
      },
      ...none,
      restarts: each(NGINX),
      maxHostsOut: 1,
      preview: "+- 55 to replace",
    },
  },
  {
    id: "resizer-replicas",
    stack: "prod",
    change: "resizer replicas 4 -> 5 (`resizer.replicas`)",
    does: "a fifth resizer starts on each host after the fourth's settle pause; the masters reload with five upstream members; each ops agent is replaced to scrape the fifth (its counters start again at zero, which Prometheus' rate() allows for)",
    apply: { config: withConfig("resizer", (v) => ({ ...v, replicas: 5 })) },
    hosts: PROD_HOSTS,
    expected: {
      steps: { "{h}-resizer05": "create", "{h}-resizer04-settled": "create", ...reloadOnly, "{h}-ops": "replace" },
      ...none,
      restarts: each(["{h}-ops"]),
      started: each(["{h}-resizer05"]),
      reloads: each(["{h}-master"]),
      maxHostsOut: 0,
      preview: "+ 10 to create, +- 20 to replace",
    },
  },
  {
    id: "add-host",
    stack: "prod",
    change: "a sixth host (`hosts[]` + img06)",
    does: "everything of img06 is created after img05's gate (its images built or pulled if the operator's engine lacks them); the other hosts are untouched. Register img06 on the L4 once `up` has finished",
    apply: { config: withConfig("hosts", (v: unknown[]) => [...v, { name: "img06", address: "172.18.141.56", docker: "ssh://deploy@172.18.141.56" }]) },
    hosts: ["img06"],
    expected: {
      steps: { "img06*": "create" },
      ...none,
      started: ["img06-master", "img06-ops", "img06-resizer01", "img06-resizer02", "img06-resizer03", "img06-resizer04", "img06-slave01", "img06-slave02"],
      maxHostsOut: 0,
      preview: "+ 35 to create",
    },
  },
  {
    id: "remove-host",
    stack: "prod",
    change: "a host removed (img05 out of `hosts[]`; take it off the L4 first)",
    does: "everything of img05 is deleted after the other changes, its master drained first; no other host changes",
    apply: { config: withConfig("hosts", (v: unknown[]) => v.slice(0, 4)) },
    hosts: ["img05"],
    expected: {
      steps: { "img05*": "delete" },
      ...none,
      stopped: ["img05-master", "img05-ops", "img05-resizer01", "img05-resizer02", "img05-resizer03", "img05-resizer04", "img05-slave01", "img05-slave02"],
      maxHostsOut: 1,
      preview: "- 35 to delete",
    },
  },
  {
    id: "subnet",
    stack: "prod",
    change: "the containers' subnet (`network.subnet`)",
    does: "host by host: the master is drained, the host's containers and network are deleted, the network is created with the new subnet and every container started again at its new address (the master's and slaves' files installed again: they name the upstreams' and the ops agent's addresses); the next host waits until the L4 has taken this one back",
    apply: { config: withConfig("network", () => ({ subnet: "10.213.1.0/24" })) },
    hosts: PROD_HOSTS,
    expected: {
      steps: {
        "{h}-net": "replace",
        ...Object.fromEntries([...NGINX, ...RESIZERS, "{h}-ops"].map((c) => [c, "replace"])),
        ...Object.fromEntries(["master", "slave01", "slave02"].flatMap((n) => [`{h}-${n}-files`, `{h}-${n}-reload`]).map((c) => [c, "replace"])),
        "{h}-slave01-settled": "replace",
        "{h}-resizer01-settled": "replace",
        "{h}-resizer02-settled": "replace",
        "{h}-resizer03-settled": "replace",
        "{h}-master-drain": "replace",
        "{h}-healthy": "replace",
      },
      ...none,
      restarts: each([...NGINX, ...RESIZERS, "{h}-ops"]),
      maxHostsOut: 1,
      preview: "+- 105 to replace",
    },
  },
  {
    id: "vip-timing",
    stack: "prod",
    change: "the L4's health-check timing (`vip.healthCheck.intervalSeconds` 5 -> 10)",
    does: "each host's gate runs again with the new timing and each drain keeps it for its next run (updates); nothing restarts. Set the same timing on the L4",
    apply: { config: withConfig("vip", (v) => ({ ...v, healthCheck: { ...v.healthCheck, intervalSeconds: 10 } })) },
    hosts: PROD_HOSTS,
    expected: { steps: { "{h}-healthy": "update", "{h}-master-drain": "update" }, ...none, maxHostsOut: 0, preview: "~ 10 to update" },
  },
];

/** The expectation with `{h}` expanded. */
export function expand(s: Scenario): Expected {
  const steps: Record<string, StepKind> = {};
  for (const [name, kind] of Object.entries(s.expected.steps)) {
    for (const n of name.includes("{h}") ? each([name], s.hosts) : [name]) steps[n] = kind;
  }
  const sorted = (xs: string[]) => [...xs].sort();
  const e = s.expected;
  return { ...e, steps, restarts: sorted(e.restarts), started: sorted(e.started), stopped: sorted(e.stopped), reloads: sorted(e.reloads), undrainedMasters: sorted(e.undrainedMasters) };
}

/** Does a step table (names and kinds) meet an expectation with `prefix*` keys? */
export function stepsMatch(expected: Record<string, StepKind>, actual: Record<string, StepKind>): string[] {
  const problems: string[] = [];
  const globs = Object.entries(expected).filter(([k]) => k.endsWith("*"));
  for (const [name, kind] of Object.entries(actual)) {
    const want = expected[name] ?? globs.find(([g]) => name.startsWith(g.slice(0, -1)))?.[1];
    if (want === undefined) problems.push(`${name}: ${kind}, expected no change`);
    else if (want !== kind) problems.push(`${name}: ${kind}, expected ${want}`);
  }
  for (const [name, kind] of Object.entries(expected)) {
    if (name.endsWith("*")) {
      if (!Object.keys(actual).some((n) => n.startsWith(name.slice(0, -1)))) problems.push(`${name}: nothing, expected ${kind}`);
    } else if (actual[name] === undefined) problems.push(`${name}: same, expected ${kind}`);
  }
  return problems.sort();
}
