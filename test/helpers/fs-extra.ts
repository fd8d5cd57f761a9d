// Filesystem bits node:fs does not offer.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

/** A named pipe: opening it for reading blocks until a writer appears. */
export async function mkfifo(file: string): Promise<void> {
  await promisify(execFile)("mkfifo", [file]);
}
