// How much memory a transform needs, estimated from its plan before a pixel is decoded,
// and how much a replica may admit at once given its memory limit. Pure.
//
// The model is linear in what drives libvips' and the encoders' memory, measured with
// `npm run bench:memory` (bench/memory.ts; the figures and the ratio of estimate to
// measured peak are in bench/results/memory.md):
// - the source, decoded sequentially: a band of lines per thread, not the whole image;
// - the result, per pixel and band, by format: the resized image, the encoder's working
//   memory and the encoded buffer; AVIF's encoder (libaom) needs about 4x JPEG's;
// - a saliency crop (`position=attention|entropy`) analyses the whole cover-scaled image,
//   which is larger than the result whenever the aspect ratios differ.
import { ResizeError } from "./errors.js";
import type { OutputFormat } from "./format.js";
import { ENV_NAMES } from "./settings.js";

const MiB = 1024 * 1024;

/** What the estimate is computed from; `plan.ts` fills it in. */
export interface WorkingSet {
  /** Pixels of the source; undefined when the plan did not read the header. */
  sourcePixels: number | undefined;
  /** Pixels of the result (its upper bound). */
  outputPixels: number;
  /** 3, or 4 with transparency (assumed when unknown and the format can keep it). */
  bands: number;
  format: OutputFormat;
  /** Pixels of the cover-scaled image a saliency crop analyses; 0 without one. */
  smartcropPixels: number;
}

export const MEMORY_MODEL = {
  /** Per transform whatever its size: thread buffers, encoder set-up, the reply's copy. */
  fixedBytes: 12 * MiB,
  /** Per source pixel (sequential decoding keeps lines, not the image). */
  perSourcePixel: 0.8,
  /** Per result pixel and band, by output format. */
  perOutputBandPixel: { jpeg: 2.8, png: 2.2, webp: 3.2, avif: 14 } satisfies Record<OutputFormat, number>,
  /** Per pixel and band of the image a saliency crop analyses. */
  perSmartcropBandPixel: 2,
  /** Per result pixel and band more with transparency (resized premultiplied). */
  alphaPerOutputBandPixel: 1.5,
} as const;

/**
 * Bytes the transform may hold at its peak. `maxInputPixels` stands for the source when
 * the plan was made without its header (libvips refuses anything larger).
 */
export function estimateTransformBytes(w: WorkingSet, maxInputPixels: number): number {
  const m = MEMORY_MODEL;
  const source = (w.sourcePixels ?? maxInputPixels) * m.perSourcePixel;
  const output = w.outputPixels * w.bands * (m.perOutputBandPixel[w.format] + (w.bands === 4 ? m.alphaPerOutputBandPixel : 0));
  const smartcrop = w.smartcropPixels * w.bands * m.perSmartcropBandPixel;
  return Math.ceil(m.fixedBytes + source + output + smartcrop);
}

/**
 * Resident memory that is not transform working set: the service process (node, sharp,
 * sockets, buffers of answers being sent) and each transform worker while idle (a node
 * process with sharp loaded). Measured in the image with jemalloc (bench/results/memory.md).
 */
export const MEMORY_RESERVE_MB = { service: 96, worker: 64 } as const;
/** Headroom for the estimate's error and the allocator's retained pages. */
const BUDGET_SHARE = 0.85;
/** Never below this, so a tiny limit still admits a thumbnail (the operator is warned). */
const MIN_BUDGET_MB = 32;
/** What the service assumes when neither a budget nor a memory limit is known. */
export const ASSUMED_LIMIT_MB = 512;

/** The transform budget (MiB) of a replica with `limitMb` of memory and `concurrency` workers. */
export function memoryBudgetMb(limitMb: number, concurrency: number): number {
  const free = limitMb - MEMORY_RESERVE_MB.service - concurrency * MEMORY_RESERVE_MB.worker;
  return Math.max(MIN_BUDGET_MB, Math.floor(free * BUDGET_SHARE));
}

/** `memoryBudgetMb` setting (0: derived) -> bytes; `limitMb` is the memory limit when known. */
export function budgetBytes(settings: { memoryBudgetMb: number; concurrency: number }, limitMb: number | undefined): number {
  const mb = settings.memoryBudgetMb || memoryBudgetMb(limitMb ?? ASSUMED_LIMIT_MB, settings.concurrency);
  return mb * MiB;
}

export const mib = (bytes: number): number => Math.ceil(bytes / MiB);

/** Work that needs more memory than the replica may give all its work at once: never admissible. */
export function overBudget(bytes: number, budget: number, what: string): ResizeError {
  return new ResizeError(
    "over_memory_budget",
    `${what} needs about ${mib(bytes)} MiB, over this replica's memory budget of ${mib(budget)} MiB (${ENV_NAMES.memoryBudgetMb})`,
  );
}
