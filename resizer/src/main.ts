// Process entry: settings from the environment only, JSON logs on stdout, graceful stop
// on SIGTERM/SIGINT (stop accepting, finish in-flight requests, exit 0).
import { once } from "node:events";
import { pino } from "pino";
import { createResizerService } from "./server.js";
import { fromEnv } from "./settings.js";
import { ENGINE } from "./engine.js";

const logger = pino({ base: { service: "resizer" }, timestamp: pino.stdTimeFunctions.isoTime });

let settings: ReturnType<typeof fromEnv>;
try {
  settings = fromEnv(process.env);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}

async function main(settings: ReturnType<typeof fromEnv>): Promise<void> {
  const resizer = await createResizerService(settings, logger);
  resizer.server.listen(settings.port, settings.host);
  await once(resizer.server, "listening");
  const { presets, ...limits } = settings;
  logger.info({ engine: ENGINE, ...limits, presets: Object.keys(presets) }, "listening");

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
  process.exit(1);
});
