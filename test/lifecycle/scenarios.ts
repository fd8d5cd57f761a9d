// The scenario table: "state after `up` of A, then the program of B", for the changes an
// operator makes to the prod stack, each with what `up` should do once issue 13's hazards are
// fixed. Rows whose hazards are not fixed yet carry `pendingFix`: the test then checks that
// today's model still shows those hazards (and the parts of the expectation that already
// hold), and fails loudly once a fix makes the row meet its expectation, so the row is moved.
//
// Resource names the fixes add are proposals (phase 2 may rename them with the table):
// `<host>-master-drain` (a Command whose delete drains the master), `<host>-images-nginx` and
// `<host>-images-resizer` (one delivery per image instead of `<host>-images`).
import { makePem } from "../helpers/certs.js";
import type { StepKind } from "./engine.js";
import type { Outcome } from "./derive.js";
import type { Change, Stack } from "./run.js";

export type HazardId = "H1" | "H1-swap" | "H1-durations" | "H2" | "H3" | "H4" | "H5" | "H6";

/** Each hazard, as the model shows it. */
export const HAZARDS: Record<HazardId, string> = {
  H1: "cpus is sent as \"2\" and read back as \"2.0\" (ForceNew): every `up` replaces every resizer, with its settle pause",
  "H1-swap": "memory_swap, not sent, reads back as 2 x memory: every container created is updated on the next `up`",
  "H1-durations": "healthcheck durations such as \"5m\" read back as \"5m0s\": the acme agents are updated on the next `up`",
  H2: "<host>-net is delete-before-replace and every container takes its name: a subnet change deletes the containers of every host at once",
  H3: "deliveries stream images from the operator's engine, but neither docker.Image (its read never looks) nor RemoteImage (looks on refresh only) brings them back on another machine: a delivery run there fails at docker save",
  H4: "nginx containers take their image id from the one delivery command, whose output is unknown in a preview of any image change: preview shows replacements `up` will not do",
  H5: "nothing drains a master before it is deleted, and the health gate passes at the first 200 without waiting for the L4 to take the host back",
  H6: "the resizer image's build context includes stack files: a config edit rebuilds the image",
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
  pendingFix?: { hazards: HazardId[]; holdsToday: (keyof Expected)[] };
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
const stackEdit = ["Pulumi.prod.yaml"];
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
    pendingFix: { hazards: ["H1", "H1-swap"], holdsToday: ["reloads", "started", "stopped", "maxHostsOut", "undrainedMasters", "freshMachineDeliveryFailures"] },
  },
  {
    id: "master-config",
    stack: "prod",
    change: "a master setting (`nginx.proxy.slaveReadTimeout` 5s -> 7s)",
    does: "each master's files are installed again and the master reloads (SIGHUP); no container restarts; host by host, each gate re-checked",
    apply: { config: withConfig("nginx", (v) => ({ ...v, proxy: { slaveReadTimeout: "7s" } })), edits: stackEdit },
    hosts: PROD_HOSTS,
    expected: { steps: { ...reloadOnly }, ...none, reloads: each(["{h}-master"]), maxHostsOut: 0, preview: "+- 15 to replace" },
    pendingFix: { hazards: ["H1", "H1-swap", "H6"], holdsToday: ["reloads", "started", "stopped", "maxHostsOut", "undrainedMasters", "freshMachineDeliveryFailures"] },
  },
  {
    id: "certificate-renewal",
    stack: "prod",
    change: "a renewed supplied certificate (`certificates.<id>.certificate` and its key)",
    does: "the new pair is installed into every master, which reloads; no restart",
    apply: {
      config: (config) => {
        const pem = makePem({ names: ["*.tving.com", "tving.com"], days: 398 });
        return withConfig("certificates", (v) => ({ ...v, "star-tving": { ...v["star-tving"], certificate: pem.certificatePem } }))({
          ...config,
          "image-origin:tlsPrivateKeys": { "star-tving": pem.privateKeyPem },
        });
      },
      edits: stackEdit,
    },
    hosts: PROD_HOSTS,
    expected: { steps: { ...reloadOnly }, ...none, reloads: each(["{h}-master"]), maxHostsOut: 0, preview: "+- 15 to replace" },
    pendingFix: { hazards: ["H1", "H1-swap", "H6"], holdsToday: ["reloads", "started", "stopped", "maxHostsOut", "undrainedMasters", "freshMachineDeliveryFailures"] },
  },
  {
    id: "slave-max-fails",
    stack: "prod",
    change: "a slave's upstream parameter (`slaves[].maxFails` 2 -> 3)",
    does: "the masters' upstream block changes: files installed, masters reload; slaves untouched",
    apply: { config: withConfig("slaves", (v: Record<string, unknown>[]) => v.map((s) => ({ ...s, maxFails: 3 }))), edits: stackEdit },
    hosts: PROD_HOSTS,
    expected: { steps: { ...reloadOnly }, ...none, reloads: each(["{h}-master"]), maxHostsOut: 0, preview: "+- 15 to replace" },
    pendingFix: { hazards: ["H1", "H1-swap", "H6"], holdsToday: ["reloads", "started", "stopped", "maxHostsOut", "undrainedMasters", "freshMachineDeliveryFailures"] },
  },
  {
    id: "resizer-code",
    stack: "prod",
    change: "resizer code (a file under `resizer/src`)",
    does: "the image is rebuilt under a new tag and delivered; each host's resizers are replaced one at a time, each followed by its settle pause; nginx untouched, and the preview says so",
    apply: ({ resizerHash }) => ({ rewrite: [[resizerHash, "0123456789abcdef"]], edits: ["resizer/src/transform.ts"] }),
    hosts: PROD_HOSTS,
    expected: {
      steps: {
        "resizer-image": "update",
        "{h}-images-resizer": "replace",
        ...Object.fromEntries(RESIZERS.map((r) => [r, "replace"])),
        "{h}-resizer01-settled": "replace",
        "{h}-resizer02-settled": "replace",
        "{h}-resizer03-settled": "replace",
        "{h}-healthy": "replace",
      },
      ...none,
      restarts: each(RESIZERS),
      maxHostsOut: 0,
      preview: "~ 1 to update, +- 45 to replace",
    },
    pendingFix: { hazards: ["H1", "H1-swap", "H3", "H4"], holdsToday: ["restarts", "reloads", "started", "stopped", "maxHostsOut", "undrainedMasters"] },
  },
  {
    id: "nginx-image",
    stack: "prod",
    change: "the nginx image (`images.nginx` to a new pinned tag)",
    does: "pulled once, delivered; host by host: one-shots re-run, slaves replaced one at a time (settle pause between), then the master drained and replaced; the next host starts once the L4 has taken this one back",
    apply: { config: withConfig("images", (v) => ({ ...v, nginx: "nginx:1.28.1-bookworm" })), edits: stackEdit },
    hosts: PROD_HOSTS,
    expected: {
      steps: {
        "nginx-image": "replace",
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
      preview: "+- 56 to replace",
    },
    // Two of today's holds are luck: maxHostsOut is 1 only because hazard 1 replaces every
    // resizer (their settle pauses delay the next host; guards.test.ts shows 2 without them),
    // and the fresh-machine delivery works only because hazard 6 rebuilds the resizer image on
    // any config edit. Fixing 1 before 5, or 6 before 3, makes this row fail on those fields.
    pendingFix: { hazards: ["H1", "H5", "H6"], holdsToday: ["reloads", "started", "stopped", "maxHostsOut", "freshMachineDeliveryFailures"] },
  },
  {
    id: "resizer-replicas",
    stack: "prod",
    change: "resizer replicas 4 -> 5 (`resizer.replicas`)",
    does: "a fifth resizer starts on each host after the fourth's settle pause; the masters reload with five upstream members",
    apply: { config: withConfig("resizer", (v) => ({ ...v, replicas: 5 })), edits: stackEdit },
    hosts: PROD_HOSTS,
    expected: {
      steps: { "{h}-resizer05": "create", "{h}-resizer04-settled": "create", ...reloadOnly },
      ...none,
      started: each(["{h}-resizer05"]),
      reloads: each(["{h}-master"]),
      maxHostsOut: 0,
      preview: "+ 10 to create, +- 15 to replace",
    },
    pendingFix: { hazards: ["H1", "H1-swap", "H6"], holdsToday: ["started", "reloads", "stopped", "maxHostsOut", "undrainedMasters", "freshMachineDeliveryFailures"] },
  },
  {
    id: "add-host",
    stack: "prod",
    change: "a sixth host (`hosts[]` + img06)",
    does: "everything of img06 is created, after img05's gate; the other hosts are untouched. Register img06 on the L4 once `up` has finished",
    apply: {
      config: withConfig("hosts", (v: unknown[]) => [...v, { name: "img06", address: "172.18.141.56", docker: "ssh://deploy@172.18.141.56" }]),
      edits: stackEdit,
    },
    hosts: ["img06"],
    expected: {
      steps: { "img06*": "create" },
      ...none,
      started: ["img06-master", "img06-resizer01", "img06-resizer02", "img06-resizer03", "img06-resizer04", "img06-slave01", "img06-slave02"],
      maxHostsOut: 0,
      preview: "+ {created} to create",
    },
    pendingFix: { hazards: ["H1", "H1-swap", "H3", "H6"], holdsToday: ["started", "reloads", "stopped", "maxHostsOut", "undrainedMasters"] },
  },
  {
    id: "remove-host",
    stack: "prod",
    change: "a host removed (img05 out of `hosts[]`; take it off the L4 first)",
    does: "everything of img05 is deleted after the other changes, its master drained first; no other host changes",
    apply: { config: withConfig("hosts", (v: unknown[]) => v.slice(0, 4)), edits: stackEdit },
    hosts: ["img05"],
    expected: {
      steps: { "img05*": "delete" },
      ...none,
      stopped: ["img05-master", "img05-resizer01", "img05-resizer02", "img05-resizer03", "img05-resizer04", "img05-slave01", "img05-slave02"],
      maxHostsOut: 1,
      preview: "- {deleted} to delete",
    },
    pendingFix: { hazards: ["H1", "H1-swap", "H5", "H6"], holdsToday: ["started", "stopped", "reloads", "maxHostsOut", "freshMachineDeliveryFailures"] },
  },
  {
    id: "subnet",
    stack: "prod",
    change: "the containers' subnet (`network.subnet`)",
    does: "host by host: the master is drained, the host's containers and network are deleted, the network is created with the new subnet and every container started again at its new address; the next host waits for this one's gate",
    apply: { config: withConfig("network", () => ({ subnet: "10.213.1.0/24" })), edits: stackEdit },
    hosts: PROD_HOSTS,
    expected: {
      steps: {
        "{h}-net": "replace",
        ...Object.fromEntries([...NGINX, ...RESIZERS].map((c) => [c, "replace"])),
        "{h}-master-files": "replace",
        "{h}-master-reload": "replace",
        "{h}-slave01-settled": "replace",
        "{h}-resizer01-settled": "replace",
        "{h}-resizer02-settled": "replace",
        "{h}-resizer03-settled": "replace",
        "{h}-master-drain": "replace",
        "{h}-healthy": "replace",
      },
      ...none,
      restarts: each([...NGINX, ...RESIZERS]),
      maxHostsOut: 1,
      preview: "+- 80 to replace",
    },
    pendingFix: { hazards: ["H1", "H2", "H5", "H6"], holdsToday: ["restarts", "started", "stopped", "reloads", "freshMachineDeliveryFailures"] },
  },
  {
    id: "vip-timing",
    stack: "prod",
    change: "the L4's health-check timing (`vip.healthCheck.intervalSeconds` 5 -> 10)",
    does: "the gates and drains take the new timing (an update, nothing restarts); re-register the timing on the L4",
    apply: { config: withConfig("vip", (v) => ({ ...v, healthCheck: { intervalSeconds: 10, timeoutSeconds: 3 } })), edits: stackEdit },
    hosts: PROD_HOSTS,
    expected: { steps: { "{h}-healthy": "update", "{h}-master-drain": "update" }, ...none, maxHostsOut: 0, preview: "~ 10 to update" },
    pendingFix: { hazards: ["H1", "H1-swap", "H5", "H6"], holdsToday: ["reloads", "started", "stopped", "maxHostsOut", "undrainedMasters", "freshMachineDeliveryFailures"] },
  },
];

/** A second `up` of every stack: nothing to do. */
export const SECOND_UP: { stack: Stack; hazards: HazardId[] }[] = [
  { stack: "prod", hazards: ["H1", "H1-swap"] },
  { stack: "local", hazards: ["H1", "H1-swap"] },
  { stack: "acme", hazards: ["H1", "H1-swap", "H1-durations"] },
];

/** The expectation with `{h}` expanded and the preview's placeholders filled from the run. */
export function expand(s: Scenario, outcome: Outcome): Expected {
  const steps: Record<string, StepKind> = {};
  for (const [name, kind] of Object.entries(s.expected.steps)) {
    for (const n of name.includes("{h}") ? each([name], s.hosts) : [name]) steps[n] = kind;
  }
  const count = (kind: StepKind, prefix: string) => Object.entries(outcome.steps).filter(([n, k]) => k === kind && n.startsWith(prefix)).length;
  const preview = s.expected.preview
    .replace("{created}", String(count("create", s.hosts[0]!)))
    .replace("{deleted}", String(count("delete", s.hosts[0]!)));
  const sorted = (xs: string[]) => [...xs].sort();
  const e = s.expected;
  return { ...e, steps, preview, restarts: sorted(e.restarts), started: sorted(e.started), stopped: sorted(e.stopped), reloads: sorted(e.reloads), undrainedMasters: sorted(e.undrainedMasters) };
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
