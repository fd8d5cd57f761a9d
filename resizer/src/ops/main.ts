// Ops agent entry: settings from OPS_CONFIG only, JSON logs on stdout, stops on SIGTERM.
import { pino } from "pino";
import { createOpsAgent } from "./agent.js";
import { opsConfigFromEnv } from "./config.js";

const logger = pino({ base: { service: "ops" }, timestamp: pino.stdTimeFunctions.isoTime });

let config: ReturnType<typeof opsConfigFromEnv>;
try {
  config = opsConfigFromEnv(process.env);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}

const agent = createOpsAgent(config, logger);
agent.listen().then(
  () => {
    logger.info({ listen: config.listen, syslog: { host: config.syslog.host, port: config.syslog.port }, nginx: config.nginx.map((n) => n.role), resizers: config.resizers.map((r) => r.role) }, "listening");
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, "stopping");
      void agent.close().then(() => logger.flush(() => process.exit(0)));
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  },
  (error: unknown) => {
    logger.fatal({ err: error }, "cannot start");
    process.exit(1);
  },
);
