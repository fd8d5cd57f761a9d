// The script a one-shot container runs to install an nginx instance's rendered files
// into its config volume, with the owners and modes nginx (an unprivileged uid) needs.
// Pure: file list in, script text out.
//
// Nothing reaches the volume before nginx accepts it: the installer (the same nginx
// image) first lays the files out at their real paths in its own root and runs the check
// there. The volume is live: the serving nginx reads error pages from it at request time,
// and a restart reads the config. So the files are prepared beside the live ones and each
// is renamed into place: a reader sees the old file or the new one, never a partial one.
import { shellJoin, shellQuote } from "./remote.js";

export interface InstalledFile {
  /** Absolute path inside `configDir`. */
  path: string;
  /** Octal mode; files default to 0644 (world-readable, root-owned). */
  mode?: string;
  /** `uid:gid`; default root. A 0400 private key must belong to nginx's uid. */
  owner?: string;
}

export interface InstallArgs {
  /** Where the uploads arrive. */
  stagingDir: string;
  /** Where the serving instance sees the files (their paths), and where they are checked. */
  configDir: string;
  /** Where the installer mounts the files volume. */
  volumeDir: string;
  files: InstalledFile[];
  /** Directories the check needs (nginx's pid and temp parents). */
  checkDirs: string[];
  /** The check, run on the files at their real paths; its failure leaves the volume alone. */
  check: string[];
}

/** Where a run prepares its files, inside the volume so that `mv` is a rename. */
const NEXT = ".next";

export function installScript(args: InstallArgs): string {
  const { stagingDir, configDir, volumeDir } = args;
  const relative = (path: string) => path.slice(configDir.length + 1);
  for (const f of args.files) {
    if (!f.path.startsWith(`${configDir}/`)) throw new Error(`${f.path} is outside ${configDir}`);
    if (relative(f.path) === NEXT || relative(f.path).startsWith(`${NEXT}/`)) throw new Error(`${f.path}: ${NEXT} is the installer's own`);
  }
  const q = shellQuote;
  const next = `${volumeDir}/${NEXT}`;
  const dirs = [...new Set(args.files.map((f) => relative(f.path)).filter((r) => r.includes("/")).map((r) => r.slice(0, r.lastIndexOf("/"))))].sort();
  const keep = args.files.map((f) => q(`${volumeDir}/${relative(f.path)}`));
  return [
    "set -eu",
    // 1. The check, on a copy at the real paths (root-owned: root here has no DAC override).
    `mkdir -p ${shellJoin([configDir, ...args.checkDirs])}`,
    `cp -R ${q(`${stagingDir}/.`)} ${q(`${configDir}/`)}`,
    // A script the check runs or inspects (keepalived's) must be executable there already.
    ...args.files.filter((f) => f.mode !== undefined && /[1357]/.test(f.mode)).map((f) => `chmod ${f.mode} ${q(f.path)}`),
    shellJoin(args.check),
    // 2. The copy for the volume, with the owners and modes nginx needs.
    `rm -rf ${q(next)}`,
    `mkdir ${q(next)}`,
    `cp -R ${q(`${stagingDir}/.`)} ${q(`${next}/`)}`,
    // The uploads would otherwise stay in the exited installer's layer (keys included).
    `find ${q(stagingDir)} ${q(configDir)} -mindepth 1 -delete`,
    `chown -R 0:0 ${q(next)}`,
    `chmod -R u=rwX,go=rX ${q(next)}`,
    // Mode before owner: once a file belongs to another uid, root needs CAP_FOWNER to chmod it.
    ...args.files.flatMap((f) => [
      ...(f.mode ? [`chmod ${f.mode} ${q(`${next}/${relative(f.path)}`)}`] : []),
      ...(f.owner ? [`chown ${f.owner} ${q(`${next}/${relative(f.path)}`)}`] : []),
    ]),
    // 3. Into place, one rename per file.
    ...dirs.map((d) => `mkdir -p -m 0755 ${q(`${volumeDir}/${d}`)}`),
    ...args.files.map((f) => `mv -f ${q(`${next}/${relative(f.path)}`)} ${q(`${volumeDir}/${relative(f.path)}`)}`),
    // Exactly this run's files: nothing left from an earlier config (a removed certificate).
    `find ${q(volumeDir)} -mindepth 1 -path ${q(next)} -prune -o ! -type d -print | while IFS= read -r f; do`,
    `  case "$f" in ${keep.length > 0 ? keep.join("|") : "''"}) ;; *) rm -f "$f" ;; esac`,
    "done",
    `find ${q(volumeDir)} -mindepth 1 -depth -type d -empty -delete`,
  ].join("\n");
}
