// Process entry: settings from the environment only, JSON logs on stdout, graceful stop
// on SIGTERM/SIGINT (stop accepting, finish in-flight requests, exit 0).
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { pino } from "pino";
import { createResizerService } from "./server.js";
import { fromEnv } from "./settings.js";
import { ENGINE } from "./engine.js";

// Asynchronous stdout: a line per request is written while the next ones are handled, and
// lines that pile up meanwhile go out in one write (a synchronous write per request cost
// ~0.15 ms of the event loop per resize). Flushed before every exit below.
const destination = pino.destination({ dest: 1, sync: false });
const logger = pino({ base: { service: "resizer" }, timestamp: pino.stdTimeFunctions.isoTime }, destination);

let settings: ReturnType<typeof fromEnv>;
try {
  settings = fromEnv(process.env);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}

/** The container's memory limit (MiB) from its cgroup (v2, then v1); undefined when unlimited. */
function cgroupMemoryLimitMb(): number | undefined {
  for (const file of ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]) {
    try {
      const bytes = Number(readFileSync(file, "utf8").trim()); // "max" (v2, unlimited) -> NaN
      if (bytes > 0 && bytes < 2 ** 50) return Math.floor(bytes / 2 ** 20); // v1 "unlimited" is ~2^63
    } catch {
      // not this cgroup version
    }
  }
  return undefined;
}

async function main(settings: ReturnType<typeof fromEnv>): Promise<void> {
  const resizer = await createResizerService(settings, logger, cgroupMemoryLimitMb());
  resizer.server.listen(settings.port, settings.host);
  await once(resizer.server, "listening");
  const { presets, ...limits } = settings;
  logger.info({ engine: ENGINE, ...limits, memoryBudgetMb: resizer.memoryBudgetBytes / 2 ** 20, presets: Object.keys(presets) }, "listening");

  const stop = async (signal: NodeJS.Signals) => {
    logger.info({ signal }, "shutting down: finishing in-flight requests");
    await resizer.close();
    logger.info("stopped");
    logger.flush(() => process.exit(0));
  };
  process.once("SIGTERM", (s) => void stop(s));
  process.once("SIGINT", (s) => void stop(s));
}

main(settings).catch((error: unknown) => {
  logger.fatal({ err: error }, "cannot start");
  logger.flush(() => process.exit(1));
});
