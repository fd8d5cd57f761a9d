// Headless Chromium (Debian's `chromium`) as a real client for end-to-end tests: it opens
// one page, and the page reports what it saw by POSTing JSON to a small HTTP server of the
// test's own (no DevTools client, no Playwright download). One fresh profile per run,
// nothing fetched from the network on its own, and every process it started ended with it.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SETUP_HINT } from "./nginx.js";

/** The browser binary, or an error that says how to install it. */
export function chromiumPath(): string {
  const found = spawnSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).stdout.trim();
  if (found === "") throw new Error(`chromium is not installed: ${SETUP_HINT}`);
  return found;
}

/** A one-shot receiver: the URL a page POSTs its report to, and the report once it arrives. */
export interface ReportSink {
  url: string;
  report: Promise<unknown>;
  close(): Promise<void>;
}

export async function reportSink(): Promise<ReportSink> {
  let deliver!: (value: unknown) => void;
  let fail!: (error: Error) => void;
  const report = new Promise<unknown>((resolve, reject) => ((deliver = resolve), (fail = reject)));
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      // The page posts cross-origin as a simple request (text/plain): no preflight.
      res.writeHead(204, { "Access-Control-Allow-Origin": "*" }).end();
      if (req.method !== "POST") return;
      try {
        deliver(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch (error) {
        fail(new Error(`the page's report is not JSON: ${String(error)}`));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/report`,
    report,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface Browser {
  /** Its stderr so far (for a failure message). */
  log(): string;
  /** Settles when the browser process exits (it should not before it is closed). */
  exited: Promise<void>;
  /** Ends the browser and every process it started (its own process group), removes the profile. */
  close(): Promise<void>;
}

/**
 * Opens `url` in headless Chromium. `hosts` maps names to loopback addresses inside the
 * browser only (`--host-resolver-rules`), so a page can use the cluster's server names.
 * `extraArgs`: more switches (e.g. `--ignore-certificate-errors` for the local stack's
 * self-signed certificate, to load a page over HTTP/2).
 */
export function openPage(url: string, hosts: Record<string, string> = {}, extraArgs: readonly string[] = []): Browser {
  const profile = mkdtempSync(join(tmpdir(), "image-origin-chromium-"));
  const rules = Object.entries(hosts).map(([name, address]) => `MAP ${name} ${address}`);
  const args = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    `--user-data-dir=${profile}`,
    ...(rules.length > 0 ? [`--host-resolver-rules=${rules.join(", ")}`] : []),
    ...extraArgs,
    url,
  ];
  // Its own process group: the renderer, GPU and utility processes go with it.
  const child: ChildProcess = spawn(chromiumPath(), args, { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let closed = false;
  return {
    log: () => stderr,
    exited,
    async close() {
      if (closed) return;
      closed = true;
      const group = -child.pid!;
      const signal = (s: NodeJS.Signals) => {
        try {
          process.kill(group, s);
        } catch {
          // already gone
        }
      };
      if (child.exitCode === null && child.signalCode === null) {
        signal("SIGTERM");
        const timer = setTimeout(() => signal("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      signal("SIGKILL"); // stragglers of the group, if any
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
