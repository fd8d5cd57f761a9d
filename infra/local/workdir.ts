// A local-target plan laid out on disk: the rendered files where the plan puts them, the
// directories nginx writes, self-signed stand-ins for the certificates the masters serve,
// ownership for the unprivileged user, and the ports the plan listens on. Shared by the
// launcher (`npm start`, the e2e tests) and the nginx tests' staging, so both lay out a
// work directory the same way. Not pure: writes files.
import { chownSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { CertificatePlan, ClusterPlan, HostPlan, Listen } from "../topology.js";
import { makeSelfSigned } from "./certs.js";

/** Writes each file at its path, creating the directories above it. */
export function writeFiles(files: readonly { path: string; content: string }[]): void {
  for (const f of files) {
    mkdirSync(dirname(f.path), { recursive: true });
    writeFileSync(f.path, f.content);
  }
}

/** The directories a host's nginx instances write (temp, pid, logs, cache, the ACME webroot), created. */
export function makeWritableDirs(host: HostPlan): string[] {
  const dirs = [...[host.master, ...host.slaves].flatMap((inst) => inst.writableDirs), host.master.paths.acmeWebroot];
  for (const dir of dirs) mkdirSync(dir, { recursive: true });
  return dirs;
}

export interface StandIn {
  plan: CertificatePlan;
  certPath: string;
  keyPath: string;
}

/**
 * A self-signed certificate (and key) at the paths a host's master reads, for each
 * certificate its servers use and `wanted` accepts, whatever its mode: locally there is
 * nothing to supply or issue it.
 */
export function makeStandInCertificates(
  plan: ClusterPlan,
  host: HostPlan,
  options: { days?: number; wanted?: (cert: CertificatePlan) => boolean; setupHint?: string } = {},
): StandIn[] {
  const made: StandIn[] = [];
  for (const server of host.master.servers) {
    const tls = server.tls;
    if (tls === undefined || made.some((c) => c.certPath === tls.certPath)) continue;
    const cert = plan.certificates.find((c) => c.id === tls.certificate);
    if (cert === undefined) throw new Error(`plan has no certificate "${tls.certificate}"`);
    if (options.wanted !== undefined && !options.wanted(cert)) continue;
    makeSelfSigned({ certPath: tls.certPath, keyPath: tls.keyPath, names: cert.names, ...(options.days !== undefined && { days: options.days }) }, options.setupHint);
    made.push({ plan: cert, certPath: tls.certPath, keyPath: tls.keyPath });
  }
  return made;
}

/** Gives `path` and everything below it to `user` (the unprivileged user nginx runs as). */
export function chownTree(path: string, user: { uid: number; gid: number }): void {
  chownSync(path, user.uid, user.gid);
  if (lstatSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), user);
}

/** Every port a host's plan listens on, labelled: the ops agent, slaves, resizers, the master, the ACME publisher. */
export function hostPorts(host: HostPlan): { instance: string; what: string; listen: Listen }[] {
  const m = host.master;
  const publisher = host.acme?.publisher;
  return [
    { instance: host.ops.name, what: "http", listen: host.ops.listen },
    ...host.slaves.map((s) => ({ instance: s.name, what: "http", listen: s.listen })),
    ...host.slaves.map((s) => ({ instance: s.name, what: "stub_status", listen: s.ops.status })),
    ...host.resizers.map((r) => ({ instance: r.name, what: "http", listen: r.listen })),
    { instance: m.name, what: "http", listen: m.http },
    ...(m.https ? [{ instance: m.name, what: "https", listen: m.https }] : []),
    { instance: m.name, what: "stub_status", listen: m.ops.status },
    ...(publisher ? [{ instance: publisher.name, what: "https", listen: publisher.listen }] : []),
  ];
}
