// The script a one-shot container runs to install an nginx instance's rendered files
// from its staging directory into the config volume, with the owners and modes nginx
// (an unprivileged uid) needs. Pure: file list in, script text out.
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

export function installScript(args: InstallArgs): string {
  const { stagingDir, targetDir } = args;
  for (const f of args.files) {
    if (!f.path.startsWith(`${targetDir}/`)) throw new Error(`${f.path} is outside ${targetDir}`);
  }
  const q = shellQuote;
  return [
    "set -eu",
    // Exactly this run's files: nothing left from an earlier config (a removed certificate).
    `find ${q(targetDir)} -mindepth 1 -delete`,
    `cp -R ${q(`${stagingDir}/.`)} ${q(`${targetDir}/`)}`,
    `chown -R 0:0 ${q(targetDir)}`,
    `chmod -R u=rwX,go=rX ${q(targetDir)}`,
    // The uploads would otherwise stay in the exited installer's layer (keys included).
    `find ${q(stagingDir)} -mindepth 1 -delete`,
    // Mode before owner: once a file belongs to another uid, root needs CAP_FOWNER to chmod it.
    ...args.files.flatMap((f) => [
      ...(f.mode ? [`chmod ${f.mode} ${q(f.path)}`] : []),
      ...(f.owner ? [`chown ${f.owner} ${q(f.path)}`] : []),
    ]),
  ].join("\n");
}
