// The L4 hosts' image (HAProxy and keepalived, `vip.mode: haproxy`), built on the operator's
// engine from infra/vip/Dockerfile when a delivery needs it (dockerEngine.ts), like the
// resizer's, and tagged by its build inputs: the hosts have no registry.
import { join, posix } from "node:path";
import { PROGRAM_DIR, buildContextHash } from "./resizerImage.js";

/** The build context, from the repository root: the Dockerfile's directory (it copies nothing). */
export const VIP_CONTEXT = "infra/vip";
export const VIP_REPOSITORY = "image-origin/vip";

/** The image's ref: its repository, tagged by the content of its build inputs. */
export function vipImageRef(root: string): string {
  return `${VIP_REPOSITORY}:${buildContextHash(join(root, VIP_CONTEXT), "Dockerfile")}`;
}

/** How the operator's engine builds it, relative to the program's directory (as RESIZER_BUILD). */
const CONTEXT_FROM_PROGRAM_DIR = posix.relative(PROGRAM_DIR, VIP_CONTEXT);
export const VIP_BUILD = { dockerfile: posix.join(CONTEXT_FROM_PROGRAM_DIR, "Dockerfile"), context: CONTEXT_FROM_PROGRAM_DIR } as const;
