// Which containers a change restarts and which only reload: the hook a classifier plugs
// into, the lifecycle model's answer (the engine's step generation fed by the providers'
// facts, run by infra/cli/diff.ts on both commits' programs), and the estimate made from the
// rendered files alone when the model cannot run. Pure: rendered trees in, effects out.
import type { ContainerEffects } from "../lifecycle/effects.js";

/** A stack's render output: path (`plan.json`, `img01/master.conf`, ...) -> content. */
export type Tree = ReadonlyMap<string, string>;

export interface StackChange {
  stack: string;
  /** Absent when the stack does not exist on that side. */
  base?: Tree;
  head?: Tree;
  /** Paths of the render output whose content differs (added and removed ones too). */
  changedFiles: readonly string[];
}

export type EffectKind = "restart" | "reload" | "create" | "remove";

export interface Effect {
  kind: EffectKind;
  /** Host the container runs on (undefined: not tied to one host). */
  host?: string;
  /** The container's name, e.g. `img01-master`. */
  container: string;
  /** Why, in a few words a reviewer understands: `master.conf changed`. */
  reason: string;
}

/**
 * Decides restart versus reload for a stack's change. The diff command asks exactly one;
 * a better model replaces the estimate below by being passed instead of it.
 */
export interface EffectClassifier {
  /** Shown under the summary, so a reviewer knows how far to trust it. */
  readonly source: string;
  classify(change: StackChange): Effect[];
}

// ---------------------------------------------------------------------------------------
// The estimate from rendered files

/** The subset of plan.json the estimate reads (the plan's own shape, kept loose on purpose). */
interface PlanLike {
  images?: Record<string, unknown>;
  hosts?: HostLike[];
  vip?: { haproxy?: { hosts?: L4HostLike[] } };
}
/** An L4 host of the software VIP (`vip.mode: haproxy`): its HAProxy and keepalived. */
interface L4HostLike {
  name: string;
  haproxy: InstanceLike;
  keepalived: InstanceLike;
  [key: string]: unknown;
}
interface InstanceLike {
  name: string;
  file?: string;
  [key: string]: unknown;
}
interface HostLike {
  name: string;
  master?: InstanceLike;
  slaves?: InstanceLike[];
  resizers?: InstanceLike[];
  ops?: InstanceLike;
  acme?: { init?: { name: string }; sync?: { name: string }; renewers?: { id: string; name: string }[]; publisher?: { name: string } };
  [key: string]: unknown;
}

/**
 * Plan fields that become inputs of a container rather than lines of a file it reloads:
 * Docker replaces a container when any of them changes (image, address, published ports,
 * limits, mounts, environment, healthcheck port). An estimate: the program decides, and
 * the lifecycle model will read the program's real inputs instead of this list.
 */
const CONTAINER_FIELDS = {
  /** Of the host: the engine, the network and the images bind concern every container. */
  host: ["docker", "imagesDir", "network"],
  /** Of the host, for the master only: the volumes it mounts (cache, acme). */
  hostMaster: ["volumes"],
  master: ["ip", "publish", "http.port", "paths.config", "paths.tempDir", "tuning.master.memoryMb", "tuning.master.workerRlimitNofile"],
  slave: ["ip", "listen.port", "paths.config", "paths.tempDir", "tuning.slave.memoryMb", "tuning.slave.workerRlimitNofile"],
} as const;

function at(value: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), value);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function changedFields(a: unknown, b: unknown, fields: readonly string[]): string[] {
  return fields.filter((f) => !same(at(a, f), at(b, f)));
}

function parsePlan(tree: Tree | undefined): PlanLike | undefined {
  const text = tree?.get("plan.json");
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as PlanLike;
  } catch {
    return undefined;
  }
}

function acmeContainersOf(host: HostLike): string[] {
  const acme = host.acme;
  if (acme === undefined) return [];
  return [acme.init?.name, acme.sync?.name, ...(acme.renewers ?? []).map((r) => r.name), acme.publisher?.name].filter((n): n is string => n !== undefined);
}

/** Every container of a host the plan names, by its name. */
function containersOf(host: HostLike): string[] {
  return [
    ...(host.master ? [host.master.name] : []),
    ...(host.slaves ?? []).map((s) => s.name),
    ...(host.resizers ?? []).map((r) => r.name),
    ...(host.ops ? [host.ops.name] : []),
    ...acmeContainersOf(host),
  ];
}

/** ACME containers run their rendered script as an argument: a new script is a new container. */
function acmeContainerOf(host: HostLike, file: string): string | undefined {
  const acme = host.acme;
  if (acme === undefined) return undefined;
  if (file === "acme/init.sh") return acme.init?.name;
  if (file === "acme/tls-sync.sh") return acme.sync?.name;
  if (file === "acme/tls-publish.conf") return acme.publisher?.name;
  const renewer = /^acme\/renewer-(.+)\.sh$/.exec(file);
  return renewer ? acme.renewers?.find((r) => r.id === renewer[1])?.name : undefined;
}

/**
 * Reads what the rendered files say: a changed nginx file reloads its instance (the
 * program installs new files and sends SIGHUP, the container stays); a changed container
 * field of plan.json, an image or a host-wide setting restarts (replaces) the container;
 * a container only one side has is created or removed.
 */
export const renderedFilesEstimate: EffectClassifier = {
  source:
    "estimated from the rendered files: a changed nginx, HAProxy or keepalived file reloads its instance; a changed container field in plan.json " +
    "(image, address, ports, limits, mounts, environment) or a changed ACME script restarts the container.",
  classify(change: StackChange): Effect[] {
    const base = parsePlan(change.base);
    const head = parsePlan(change.head);
    const effects = new Map<string, Effect>();
    // A restart supersedes a reload (the new container starts with the new files).
    const rank: Record<EffectKind, number> = { create: 3, remove: 3, restart: 2, reload: 1 };
    const add = (e: Effect) => {
      const prior = effects.get(e.container);
      if (prior === undefined || rank[e.kind] > rank[prior.kind]) effects.set(e.container, e);
    };

    const baseHosts = new Map((base?.hosts ?? []).map((h) => [h.name, h]));
    const headHosts = new Map((head?.hosts ?? []).map((h) => [h.name, h]));
    for (const [name, h] of headHosts) {
      const before = baseHosts.get(name);
      const beforeContainers = new Set(before ? containersOf(before) : []);
      for (const c of containersOf(h)) if (!beforeContainers.has(c)) add({ kind: "create", host: name, container: c, reason: before ? "new container" : "new host" });
    }
    for (const [name, h] of baseHosts) {
      const after = headHosts.get(name);
      const afterContainers = new Set(after ? containersOf(after) : []);
      for (const c of containersOf(h)) if (!afterContainers.has(c)) add({ kind: "remove", host: name, container: c, reason: after ? "container removed" : "host removed" });
    }

    const imageChanged = (key: string) => base !== undefined && head !== undefined && !same(base.images?.[key], head.images?.[key]);
    for (const [name, after] of headHosts) {
      const before = baseHosts.get(name);
      if (before === undefined) continue;
      const hostFields = changedFields(before, after, CONTAINER_FIELDS.host);
      if (hostFields.length > 0) {
        for (const c of containersOf(after)) add({ kind: "restart", host: name, container: c, reason: `plan.json: ${hostFields.join(", ")} changed` });
      }
      const nginx: [InstanceLike | undefined, InstanceLike | undefined, readonly string[]][] = [
        [before.master, after.master, CONTAINER_FIELDS.master],
        ...(after.slaves ?? []).map((s): [InstanceLike | undefined, InstanceLike, readonly string[]] => [before.slaves?.find((b) => b.name === s.name), s, CONTAINER_FIELDS.slave]),
      ];
      const masterVolumes = changedFields(before, after, CONTAINER_FIELDS.hostMaster);
      for (const [b, a, fields] of nginx) {
        if (b === undefined || a === undefined) continue;
        const changed = [...(imageChanged("nginx") ? ["images.nginx"] : []), ...(a === after.master ? masterVolumes : []), ...changedFields(b, a, fields)];
        if (changed.length > 0) add({ kind: "restart", host: name, container: a.name, reason: `plan.json: ${changed.join(", ")} changed` });
      }
      for (const r of after.resizers ?? []) {
        const b = before.resizers?.find((x) => x.name === r.name);
        if (b === undefined) continue;
        // A resizer's whole plan (address, limits, environment) is its container's input.
        const changed = [...(imageChanged("resizer") ? ["images.resizer"] : []), ...changedFields(b, r, Object.keys({ ...b, ...r }).sort())];
        if (changed.length > 0) add({ kind: "restart", host: name, container: r.name, reason: `plan.json: ${changed.join(", ")} changed` });
      }
      if (after.ops !== undefined && before.ops !== undefined) {
        // The ops agent runs the resizer image; its whole plan (address, port, configuration) is its input.
        const changed = [...(imageChanged("resizer") ? ["images.resizer"] : []), ...changedFields(before.ops, after.ops, Object.keys({ ...before.ops, ...after.ops }).filter((k) => k !== "paths").sort()).map((f) => `ops.${f}`)];
        if (changed.length > 0) add({ kind: "restart", host: name, container: after.ops.name, reason: `plan.json: ${changed.join(", ")} changed` });
      }
      if (imageChanged("certbot")) {
        for (const c of acmeContainersOf(after)) add({ kind: "restart", host: name, container: c, reason: "plan.json: images.certbot changed" });
      }
    }

    // L4 hosts (`vip.mode: haproxy`): new or gone, their containers' inputs, their files.
    const l4Of = (plan: PlanLike | undefined) => new Map((plan?.vip?.haproxy?.hosts ?? []).map((h) => [h.name, h]));
    const [baseL4, headL4] = [l4Of(base), l4Of(head)];
    for (const [name, h] of headL4) {
      const before = baseL4.get(name);
      for (const c of [h.haproxy.name, h.keepalived.name]) {
        if (before === undefined) add({ kind: "create", host: name, container: c, reason: "new L4 host" });
      }
      if (before === undefined) continue;
      const hostFields = changedFields(before, h, ["docker", "interface", "network"]);
      const haproxyFields = changedFields(before.haproxy, h.haproxy, ["publish", "memoryMb", "nofile", "paths.config"]);
      const changed = [...(imageChanged("vip") ? ["images.vip"] : []), ...hostFields];
      if ([...changed, ...haproxyFields].length > 0) add({ kind: "restart", host: name, container: h.haproxy.name, reason: `plan.json: ${[...changed, ...haproxyFields].join(", ")} changed` });
      if (changed.length > 0) add({ kind: "restart", host: name, container: h.keepalived.name, reason: `plan.json: ${changed.join(", ")} changed` });
    }
    for (const [name, h] of baseL4) {
      if (!headL4.has(name)) for (const c of [h.haproxy.name, h.keepalived.name]) add({ kind: "remove", host: name, container: c, reason: "L4 host removed" });
    }

    // Files: nginx files reload their instance, ACME scripts restart theirs.
    for (const path of change.changedFiles) {
      const slash = path.indexOf("/");
      if (slash < 0) continue;
      const hostName = path.slice(0, slash);
      const file = path.slice(slash + 1);
      const l4 = headL4.get(hostName);
      if (l4 !== undefined && baseL4.has(hostName)) {
        // HAProxy and keepalived reload new files (SIGUSR2, SIGHUP): their containers stay.
        const instance = file === l4.haproxy.file ? l4.haproxy.name : l4.keepalived.name;
        add({ kind: "reload", host: hostName, container: instance, reason: `${file} changed` });
        continue;
      }
      const h = headHosts.get(hostName);
      if (h === undefined || !baseHosts.has(hostName)) continue;
      const acme = acmeContainerOf(h, file);
      if (acme !== undefined) {
        add({ kind: "restart", host: hostName, container: acme, reason: `${file} changed (a container argument)` });
        continue;
      }
      const slave = (h.slaves ?? []).find((s) => s.file === file);
      const instance = slave?.name ?? (h.master && (file === h.master.file || file.startsWith("html/")) ? h.master.name : undefined);
      if (instance !== undefined) add({ kind: "reload", host: hostName, container: instance, reason: `${file} changed` });
    }
    return [...effects.values()];
  },
};

/** Shown when the lifecycle model answered. */
export const LIFECYCLE_SOURCE =
  "from the lifecycle model: both commits' programs run under the engine's and the providers' own rules (infra/lifecycle/), " +
  "the base's as deployed, then the working tree's as `pulumi up` would apply it.";

/**
 * The lifecycle model's answer for one stack as a classifier: each container it restarts,
 * starts, stops or reloads, on the host whose plan names it. A reason comes from the rendered
 * files where they say the same (a reload: the file that changed), else from the model (a
 * restart: the inputs whose change replaces the container).
 */
export function lifecycleClassifier(model: ContainerEffects): EffectClassifier {
  return {
    source: LIFECYCLE_SOURCE,
    classify(change: StackChange): Effect[] {
      const hosts = [...(parsePlan(change.head)?.hosts ?? []), ...(parsePlan(change.base)?.hosts ?? [])];
      const hostOf = (container: string) => hosts.find((h) => containersOf(h).includes(container))?.name;
      const estimated = new Map(renderedFilesEstimate.classify(change).map((e) => [`${e.kind} ${e.container}`, e.reason]));
      const effect = (kind: EffectKind, container: string, why: () => string): Effect => {
        const host = hostOf(container);
        return { kind, ...(host !== undefined && { host }), container, reason: estimated.get(`${kind} ${container}`) ?? why() };
      };
      return [
        ...model.restarts.map((e) => effect("restart", e.container, () => `replaced: ${e.why.join(", ")} changed`)),
        ...model.reloads.map((e) => effect("reload", e.container, () => "its files changed")),
        ...model.started.map((e) => effect("create", e.container, () => "new container")),
        ...model.stopped.map((e) => effect("remove", e.container, () => "container removed")),
      ];
    },
  };
}

/** The estimate, saying why the model did not answer. */
export function estimateBecause(why: string): EffectClassifier {
  return { source: `${renderedFilesEstimate.source} (The lifecycle model could not answer: ${why}.)`, classify: (c) => renderedFilesEstimate.classify(c) };
}

