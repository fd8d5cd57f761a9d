// Prometheus metrics (prom-client). One registry per service instance, so tests can run
// several in one process. Label values are bounded: routes (routes.ts) and status codes,
// error codes.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Admission } from "./admission.js";

export function createMetrics(admission: Admission) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const metrics = {
    registry,
    requests: new Counter({
      name: "resizer_http_requests_total",
      help: "HTTP requests answered, by route and status code.",
      labelNames: ["route", "status"] as const,
      registers,
    }),
    duration: new Histogram({
      name: "resizer_http_request_duration_seconds",
      help: "Time from request to the last byte handed to the socket, by route.",
      labelNames: ["route"] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    inFlight: new Gauge({
      name: "resizer_http_in_flight_requests",
      help: "Requests being handled (waiting, transforming or sending).",
      registers,
    }),
    errors: new Counter({
      name: "resizer_errors_total",
      help: "Refused or failed requests, by error code (see README).",
      labelNames: ["code"] as const,
      registers,
    }),
    sourceBytes: new Counter({
      name: "resizer_source_bytes_total",
      help: "Bytes read from source images.",
      registers,
    }),
    responseBytes: new Counter({
      name: "resizer_response_bytes_total",
      help: "Image bytes sent in responses.",
      registers,
    }),
    transforms: new Counter({
      name: "resizer_transforms_total",
      help: "Transforms started (a request answered with an identical request's transform is not one).",
      registers,
    }),
    coalesced: new Counter({
      name: "resizer_coalesced_requests_total",
      help: "Requests answered with the result of an identical request's transform already running.",
      registers,
    }),
    notModified: new Counter({
      name: "resizer_not_modified_total",
      help: "Revalidations answered 304 without decoding.",
      registers,
    }),
    cancelSeconds: new Histogram({
      name: "resizer_transform_cancel_seconds",
      help: "From a transform's deadline (or the grace after its last client left) to its worker being gone and its slot free.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    workerCrashes: new Counter({
      name: "resizer_transform_worker_crashes_total",
      help: "Transform workers that died on their own (a crash, the OOM killer); each is replaced.",
      registers,
    }),
  };
  new Gauge({
    name: "resizer_transforms_active",
    help: "Transforms holding a concurrency slot.",
    registers,
    collect() {
      this.set(admission.active);
    },
  });
  new Gauge({
    name: "resizer_queue_depth",
    help: "Requests waiting for a transform slot.",
    registers,
    collect() {
      this.set(admission.queued);
    },
  });
  new Gauge({
    name: "resizer_memory_admitted_bytes",
    help: "Estimated memory of the transforms running (admission counts these against the budget).",
    registers,
    collect() {
      this.set(admission.admittedBytes);
    },
  });
  new Gauge({
    name: "resizer_memory_budget_bytes",
    help: "Memory the transforms running may need together (RESIZER_MEMORY_BUDGET_MB).",
    registers,
    collect() {
      this.set(admission.budgetBytes);
    },
  });
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
