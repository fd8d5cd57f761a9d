// The one-shot container that puts an instance's files into its volume (infra/install.ts's
// script): the files are checked first where the instance reads them (nginx -t, keepalived
// -t), then copied into the volume with their owners and modes. Shared by the nginx
// instances and the L4 hosts' HAProxy and keepalived.
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { installScript } from "../install.js";
import { CONTAINER } from "../topology.js";
import { ownerSettingOneShot } from "./hardening.js";

export interface InstallerFile {
  /** Absolute path inside the instance, under CONTAINER.configDir. */
  path: string;
  content: pulumi.Input<string>;
  /** Octal mode when not 0644. */
  mode?: string;
  /** `uid:gid` owning the file when not root. */
  owner?: string;
}

export interface InstallerArgs {
  /** The container's name, also the volume's (instanceName.installer). */
  name: string;
  image: pulumi.Input<string>;
  volume: pulumi.Input<string>;
  files: InstallerFile[];
  /** Directories the check needs besides the files' own (nginx's writable paths). */
  checkDirs: string[];
  check: string[];
  /** Read-only mounts the check reads besides the files (nginx: the ACME bundles). */
  checkMounts?: docker.types.input.ContainerMount[];
}

export function installerContainerArgs(a: InstallerArgs): docker.ContainerArgs {
  const configDir = CONTAINER.configDir;
  return {
    name: a.name,
    image: a.image,
    entrypoints: ["sh", "-c"],
    command: [
      installScript({
        stagingDir: CONTAINER.stagingDir,
        configDir,
        volumeDir: CONTAINER.installVolumeDir,
        files: a.files.map((f) => ({ path: f.path, ...(f.mode && { mode: f.mode }), ...(f.owner && { owner: f.owner }) })),
        checkDirs: a.checkDirs,
        check: a.check,
      }),
    ],
    uploads: a.files.map((f) => ({ file: `${CONTAINER.stagingDir}${f.path.slice(configDir.length)}`, content: f.content })),
    mounts: [{ type: "volume", source: a.volume, target: CONTAINER.installVolumeDir }, ...(a.checkMounts ?? [])],
    ...ownerSettingOneShot(),
  };
}
