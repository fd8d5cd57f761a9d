// The script a one-shot container runs to install an nginx instance's rendered files
// from its staging directory into the config volume, with the owners and modes nginx
// (an unprivileged uid) needs. Pure: file list in, script text out.
//
// The volume is live: the serving nginx reads error pages from it at request time and its
// config on the reload that follows. So the files are prepared beside it and then each
// is renamed into place: a reader sees the old file or the new one, never a half-written
// or missing one.
import { shellQuote } from "./remote.js";

export interface InstalledFile {
  /** Absolute path inside `targetDir`. */
  path: string;
  /** Octal mode; files default to 0644 (world-readable, root-owned). */
  mode?: string;
  /** `uid:gid`; default root. A 0400 private key must belong to nginx's uid. */
  owner?: string;
}

export interface InstallArgs {
  stagingDir: string;
  targetDir: string;
  files: InstalledFile[];
}

/** Where a run prepares its files, inside the volume so that `mv` is a rename. */
const NEXT = ".next";

export function installScript(args: InstallArgs): string {
  const { stagingDir, targetDir } = args;
  for (const f of args.files) {
    if (!f.path.startsWith(`${targetDir}/`)) throw new Error(`${f.path} is outside ${targetDir}`);
  }
  const q = shellQuote;
  const next = `${targetDir}/${NEXT}`;
  const relative = (path: string) => path.slice(targetDir.length + 1);
  const dirs = [...new Set(args.files.map((f) => relative(f.path)).filter((r) => r.includes("/")).map((r) => r.slice(0, r.lastIndexOf("/"))))].sort();
  const keep = args.files.map((f) => q(f.path));
  return [
    "set -eu",
    `rm -rf ${q(next)}`,
    `mkdir ${q(next)}`,
    `cp -R ${q(`${stagingDir}/.`)} ${q(`${next}/`)}`,
    // The uploads would otherwise stay in the exited installer's layer (keys included).
    `find ${q(stagingDir)} -mindepth 1 -delete`,
    `chown -R 0:0 ${q(next)}`,
    `chmod -R u=rwX,go=rX ${q(next)}`,
    // Mode before owner: once a file belongs to another uid, root needs CAP_FOWNER to chmod it.
    ...args.files.flatMap((f) => [
      ...(f.mode ? [`chmod ${f.mode} ${q(`${next}/${relative(f.path)}`)}`] : []),
      ...(f.owner ? [`chown ${f.owner} ${q(`${next}/${relative(f.path)}`)}`] : []),
    ]),
    ...dirs.map((d) => `mkdir -p -m 0755 ${q(`${targetDir}/${d}`)}`),
    ...args.files.map((f) => `mv -f ${q(`${next}/${relative(f.path)}`)} ${q(f.path)}`),
    // Exactly this run's files: nothing left from an earlier config (a removed certificate).
    `find ${q(targetDir)} -mindepth 1 -path ${q(next)} -prune -o ! -type d -print | while IFS= read -r f; do`,
    `  case "$f" in ${keep.length > 0 ? keep.join("|") : "''"}) ;; *) rm -f "$f" ;; esac`,
    "done",
    `find ${q(targetDir)} -mindepth 1 -depth -type d -empty -delete`,
  ].join("\n");
}
