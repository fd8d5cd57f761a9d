// A transform worker's process (see workers.ts): configures libvips once, then renders the
// jobs its parent sends, one at a time, and answers each with the bytes or a ResizeError's
// code. It exits when its parent goes away.
import { configureEngine, render } from "./engine.js";
import { isResizeError } from "./errors.js";
import { reopenSource } from "./source.js";
import type { JobMessage, WorkerEngine, WorkerMessage } from "./workers.js";

const send = (m: WorkerMessage) => process.send?.(m);

async function handle(job: JobMessage): Promise<void> {
  let source: Awaited<ReturnType<typeof reopenSource>> | undefined;
  try {
    source = await reopenSource(job.file);
    const out = await render(source.input, job.plan, { maxInputPixels: job.maxInputPixels });
    send({ id: job.id, ok: true, data: out.data, width: out.width, height: out.height });
  } catch (error) {
    if (isResizeError(error)) {
      send({ id: job.id, ok: false, code: error.code, message: error.message, ...(error.retryAfter !== undefined && { retryAfter: error.retryAfter }) });
    } else {
      send({ id: job.id, ok: false, code: "transform_failed", message: "the transform failed", retryAfter: 1, internal: String((error as Error)?.stack ?? error) });
    }
  } finally {
    await source?.close();
  }
}

configureEngine(JSON.parse(process.argv[2] ?? "{}") as WorkerEngine);
process.on("message", (job: JobMessage) => void handle(job));
process.on("disconnect", () => process.exit(0));
send({ ready: true });
