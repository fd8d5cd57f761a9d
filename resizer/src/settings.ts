// The resizer's settings: one zod schema shared by the service (parsed from the
// environment) and by the cluster config (infra/config.ts embeds `serviceSchema`), so a
// limit or a preset is defined once and reaches the process through `toEnv`.
import { z } from "zod";

export const FITS = ["cover", "contain", "fill", "inside", "outside"] as const;
/** Output formats a client may ask for; `auto` negotiates from `Accept`. */
export const FORMATS = ["jpeg", "png", "webp", "avif", "auto"] as const;
/** sharp's gravity/position names accepted for `cover`/`contain` crops. */
export const POSITIONS = [
  "centre", "north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest",
  "entropy", "attention",
] as const;

export const MAX_DIMENSION = 8192;

/** How long the service keeps an idle keep-alive connection (a proxy must drop it sooner). */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

const dimension = z.number().int().min(1).max(MAX_DIMENSION);
const cacheControlValue = z
  .string()
  .regex(/^[A-Za-z0-9=,\- ]{1,200}$/, "a Cache-Control value (letters, digits, '=', ',', '-', spaces)");
const quality = z.number().int().min(1).max(100);

/** A named transform (`?p=thumb_320x180`). At least one of w/h. */
export const presetSchema = z
  .strictObject({
    w: dimension.optional(),
    h: dimension.optional(),
    fit: z.enum(FITS).optional(),
    position: z.enum(POSITIONS).optional(),
    fmt: z.enum(FORMATS).optional(),
    q: quality.optional(),
    enlarge: z.boolean().optional(),
  })
  .refine((p) => p.w !== undefined || p.h !== undefined, { message: "a preset needs w or h (or both)" });
export type Preset = z.infer<typeof presetSchema>;

export const presetName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, "letters, digits, '_' or '-' (max 64), starting with a letter or digit");

/**
 * What an operator tunes per cluster (camelCase, in the stack config) and what the
 * process reads (RESIZER_* in its environment). Defaults are chosen for a 1-CPU,
 * 512 MB container.
 */
export const serviceSchema = z.strictObject({
  /** Transforms running at once in this process (sharp/libvips threads do the work). */
  concurrency: z.number().int().min(1).max(64).default(2),
  /** Requests waiting for a slot; beyond it the answer is 503 + Retry-After. */
  queue: z.number().int().min(0).max(10_000).default(64),
  /** Whole-request budget; a transform still running after it is abandoned with 503. */
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  /** Pixel limit checked from the image header before decoding (decompression bombs). */
  maxInputPixels: z.number().int().min(1).max(1_000_000_000).default(50_000_000),
  /** Source file size limit, checked with stat before reading. */
  maxInputBytes: z.number().int().min(1).max(1024 * 1024 * 1024).default(32 * 1024 * 1024),
  /** Largest width or height a response may have. */
  maxOutputDimension: dimension.default(4096),
  /** Cache-Control on successful responses (clients and the master's cache). */
  cacheControl: cacheControlValue.default("public, max-age=60"),
  /**
   * Cache-Control on 4xx answers: short, so the master absorbs a burst of the same bad
   * URL without keeping a mistake (a file uploaded a moment later) for long. 503s are
   * always `no-store`.
   */
  errorCacheControl: cacheControlValue.default("public, max-age=10"),
  /**
   * Slow-client budget: time to receive the request headers, and the longest a socket
   * may sit idle (a client that stops reading its response). Beyond it: 408 / closed.
   */
  clientTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  /** libvips worker threads per image (0 = sharp's default: 1 on glibc without jemalloc, else cores). */
  vipsThreads: z.number().int().min(0).max(64).default(0),
  presets: z.record(presetName, presetSchema).default({}),
  /** When true only `?p=<preset>` requests are served (stops arbitrary-size abuse). */
  presetsOnly: z.boolean().default(false),
  /** SVG sources are refused unless enabled (librsvg widens the attack surface); PDF never decodes. */
  allowVector: z.boolean().default(false),
});
export type ServiceSettings = z.infer<typeof serviceSchema>;

/** Environment variable per setting; the single mapping used by `toEnv` and `fromEnv`. */
export const ENV_NAMES = {
  concurrency: "RESIZER_CONCURRENCY",
  queue: "RESIZER_QUEUE",
  timeoutMs: "RESIZER_TIMEOUT_MS",
  maxInputPixels: "RESIZER_MAX_INPUT_PIXELS",
  maxInputBytes: "RESIZER_MAX_INPUT_BYTES",
  maxOutputDimension: "RESIZER_MAX_OUTPUT_DIMENSION",
  cacheControl: "RESIZER_CACHE_CONTROL",
  errorCacheControl: "RESIZER_ERROR_CACHE_CONTROL",
  clientTimeoutMs: "RESIZER_CLIENT_TIMEOUT_MS",
  vipsThreads: "RESIZER_VIPS_THREADS",
  presets: "RESIZER_PRESETS",
  presetsOnly: "RESIZER_PRESETS_ONLY",
  allowVector: "RESIZER_ALLOW_VECTOR",
} as const satisfies Record<keyof ServiceSettings, string>;

/** Where the process listens and what it serves; set per replica by the deployment. */
export const PROCESS_ENV = {
  host: "RESIZER_HOST",
  port: "RESIZER_PORT",
  root: "RESIZER_ROOT",
} as const;

export interface ProcessSettings {
  host: string;
  port: number;
  root: string;
}

/** Settings -> environment strings (objects as JSON, booleans as true/false). */
export function toEnv(settings: ServiceSettings, proc: ProcessSettings): Record<string, string> {
  const env: Record<string, string> = {
    [PROCESS_ENV.host]: proc.host,
    [PROCESS_ENV.port]: String(proc.port),
    [PROCESS_ENV.root]: proc.root,
  };
  for (const key of Object.keys(ENV_NAMES) as (keyof ServiceSettings)[]) {
    const value = settings[key];
    env[ENV_NAMES[key]] = typeof value === "object" ? JSON.stringify(value) : String(value);
  }
  return env;
}

const envBool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const envInt = z.coerce.number().int();

/**
 * Limits that span two settings, which the per-field schema cannot see: a preset larger
 * than `maxOutputDimension` would answer 400 to every request that names it. Returned as
 * messages so the cluster config can list them next to its own problems.
 */
export function settingsProblems(settings: ServiceSettings): string[] {
  const problems: string[] = [];
  for (const [name, preset] of Object.entries(settings.presets)) {
    for (const side of ["w", "h"] as const) {
      const value = preset[side];
      if (value !== undefined && value > settings.maxOutputDimension) {
        problems.push(`presets.${name}.${side}: ${value} exceeds maxOutputDimension (${settings.maxOutputDimension})`);
      }
    }
  }
  return problems;
}

/**
 * Environment -> settings, with the same defaults and limits as the cluster config.
 * Throws an Error listing every bad variable by name.
 */
export function fromEnv(env: NodeJS.ProcessEnv): ServiceSettings & ProcessSettings {
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of Object.keys(ENV_NAMES) as (keyof ServiceSettings)[]) {
    const text = env[ENV_NAMES[key]];
    if (text === undefined || text === "") continue;
    const shape = serviceSchema.shape[key];
    try {
      if (key === "presets") raw[key] = JSON.parse(text);
      else if (shape.def.innerType instanceof z.ZodString) raw[key] = text;
      else if (shape.def.innerType instanceof z.ZodBoolean) raw[key] = envBool.parse(text);
      else raw[key] = envInt.parse(text);
    } catch {
      problems.push(`${ENV_NAMES[key]}: cannot parse ${JSON.stringify(text)}`);
    }
  }
  const service = serviceSchema.safeParse(raw);
  if (service.success) {
    problems.push(...settingsProblems(service.data).map((p) => `${ENV_NAMES.presets}: ${p}`));
  } else {
    for (const issue of service.error.issues) {
      const key = issue.path[0] as keyof ServiceSettings;
      problems.push(`${ENV_NAMES[key] ?? String(key)}${issue.path.length > 1 ? "." + issue.path.slice(1).join(".") : ""}: ${issue.message}`);
    }
  }
  const port = envInt.min(1).max(65535).safeParse(env[PROCESS_ENV.port] ?? "9000");
  if (!port.success) problems.push(`${PROCESS_ENV.port}: a TCP port (1-65535)`);
  const root = env[PROCESS_ENV.root] ?? "/images";
  if (!root.startsWith("/")) problems.push(`${PROCESS_ENV.root}: an absolute path`);
  if (problems.length > 0 || !service.success || !port.success) {
    throw new Error(`invalid resizer settings:\n  ${problems.join("\n  ")}`);
  }
  return { ...service.data, host: env[PROCESS_ENV.host] ?? "127.0.0.1", port: port.data, root };
}
