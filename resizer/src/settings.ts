// The resizer's settings: one zod schema shared by the service (parsed from the
// environment) and by the cluster config (infra/config.ts embeds `serviceSchema`), so a
// limit or a preset is defined once and reaches the process through `toEnv`.
import { z } from "zod";
import { storyboardProblems, storyboardSchema, type SettingsProblem } from "./storyboard/settings.js";

export const FITS = ["cover", "contain", "fill", "inside", "outside"] as const;
/** Output formats a client may ask for; `auto` negotiates from `Accept`. */
export const FORMATS = ["jpeg", "png", "webp", "avif", "auto"] as const;
/** sharp's gravity/position names accepted for `cover`/`contain` crops. */
export const POSITIONS = [
  "centre", "north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest",
  "entropy", "attention",
] as const;

export const MAX_DIMENSION = 8192;

/** Output formats with their own area limit (`maxOutputPixels`). */
const OUTPUT_FORMAT_KEYS = ["jpeg", "png", "webp", "avif"] as const;
const outputPixels = z.number().int().min(1).max(MAX_DIMENSION * MAX_DIMENSION);
/**
 * Largest result area per output format. AVIF's encoder holds several times the memory of
 * the others per pixel (resizer/README.md, Memory): a 4096x4096 AVIF needs about 600 MiB.
 */
export const DEFAULT_MAX_OUTPUT_PIXELS = { jpeg: 4096 * 4096, png: 4096 * 4096, webp: 4096 * 4096, avif: 2048 * 1024 } as const;

/**
 * The most request-header bytes the master accepts from a client (nginx's
 * large_client_header_buffers, rendered from this): the service accepts these plus what the
 * master adds (X-Forwarded-For, X-Request-Id...), so nothing nginx let through gets a 431.
 */
export const MAX_CLIENT_HEADER_BYTES = 32 * 1024;
export const MAX_HEADER_BYTES = MAX_CLIENT_HEADER_BYTES + 8 * 1024;

/** How long the service keeps an idle keep-alive connection (a proxy must drop it sooner). */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

/** sharp's default is 4; see resizer/README.md, AVIF effort, for the measurement behind this. */
export const AVIF_EFFORT = 3;

const dimension = z.number().int().min(1).max(MAX_DIMENSION);
const cacheControlValue = z
  .string()
  .regex(/^[A-Za-z0-9=,\- ]{1,200}$/, "a Cache-Control value (letters, digits, '=', ',', '-', spaces)")
  .meta({ title: "Cache-Control value" });
const quality = z.number().int().min(1).max(100);

/** A named transform (`?p=thumb_320x180`). At least one of w/h. */
export const presetSchema = z
  .strictObject({
    w: dimension.optional().describe("width (`w`)"),
    h: dimension.optional().describe("height (`h`)"),
    fit: z.enum(FITS).optional().describe("how the image fits the box (`fit`)"),
    position: z.enum(POSITIONS).optional().describe("what a crop keeps (`position`)"),
    fmt: z.enum(FORMATS).optional().describe("output format (`fmt`)"),
    q: quality.optional().describe("quality (`q`)"),
    enlarge: z.boolean().optional().describe("enlarge sources smaller than the box"),
  })
  .refine((p) => p.w !== undefined || p.h !== undefined, { message: "a preset needs w or h (or both)" });
export type Preset = z.infer<typeof presetSchema>;

/** A legacy TimThumb script's URL path, e.g. `/timthumb.php`. */
const legacyPath = z
  .string()
  .regex(/^\/[A-Za-z0-9._~/-]*\.php$/, "an absolute URL path of letters, digits and . _ ~ / - ending in .php")
  .refine((p) => !p.slice(1).split("/").some((s) => s === ".." || s === "." || s === ""), "no empty, '.' or '..' segments")
  .meta({ title: "URL path ending in .php" });

export const presetName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, "letters, digits, '_' or '-' (max 64), starting with a letter or digit");

/**
 * What an operator tunes per cluster (camelCase, in the stack config) and what the
 * process reads (RESIZER_* in its environment). Defaults are chosen for a 1-CPU,
 * 512 MB container.
 */
export const serviceSchema = z.strictObject({
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(2)
    .describe("transforms at once per process: enough that the replica's share of a busy host's resizes runs rather than waits (README, Resizer sizing), memory permitting"),
  queue: z.number().int().min(0).max(10_000).default(64).describe("requests waiting for a slot; beyond it the answer is 503 + `Retry-After`"),
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000).describe("whole-request budget (ms); a transform still running after it is abandoned with 503"),
  maxInputPixels: z.number().int().min(1).max(1_000_000_000).default(50_000_000).describe("pixel limit, checked from the header before decoding (decompression bombs)"),
  maxInputBytes: z
    .number()
    .int()
    .min(1)
    .max(1024 * 1024 * 1024)
    .default(32 * 1024 * 1024)
    .describe("source file size limit (bytes), checked before reading"),
  maxOutputDimension: dimension.default(4096).describe("largest width or height a response may have"),
  maxOutputPixels: z
    .strictObject(Object.fromEntries(OUTPUT_FORMAT_KEYS.map((f) => [f, outputPixels.default(DEFAULT_MAX_OUTPUT_PIXELS[f]).describe(`largest ${f.toUpperCase()} result, in pixels (width x height)`)])) as Record<(typeof OUTPUT_FORMAT_KEYS)[number], z.ZodDefault<typeof outputPixels>>)
    .prefault({})
    .describe("largest result area per output format (400 beyond; `fmt=auto` falls back to the next accepted format); AVIF's default is a quarter of the others' because its encoder needs about 4x the memory per pixel"),
  memoryBudgetMb: z
    .number()
    .int()
    .min(0)
    .max(65_536)
    .default(0)
    .describe("memory (MiB) the transforms in flight may need together, by their estimates; beyond it work waits, and a single transform needing more is refused (400). 0: derived from the memory limit (the cluster: `memoryMb` and `concurrency`; alone: the cgroup's limit, else 512 MiB)"),
  avifEffort: z
    .number()
    .int()
    .min(0)
    .max(9)
    .default(AVIF_EFFORT)
    .describe(`AVIF encoder effort, 0 (fastest) to 9 (smallest files); default ${AVIF_EFFORT}, chosen for throughput (resizer/README.md, AVIF effort)`),
  cacheControl: cacheControlValue.default("public, max-age=60").describe("`Cache-Control` on successful responses"),
  errorCacheControl: cacheControlValue
    .default("public, max-age=10")
    .describe("`Cache-Control` on 4xx answers: short, so the master absorbs a burst of one bad URL without keeping a mistake long; 503s are always `no-store`"),
  clientTimeoutMs: z
    .number()
    .int()
    .min(100)
    .max(120_000)
    .default(10_000)
    .describe("slow clients (ms): the time to send the request headers, and the longest a socket may sit idle; beyond it 408 or closed"),
  vipsThreads: z
    .number()
    .int()
    .min(0)
    .max(64)
    .default(0)
    .describe("libvips threads per image; 0: sharp's default (the cluster sets one per CPU of the replica's `cpus`). A thumbnail costs the same CPU with 1 or more; more only shortens one large request (README, Resizer sizing)"),
  presets: z.record(presetName, presetSchema).default({}).meta({ keyName: "name", description: "named transforms, requested as `?p=<name>`" }),
  presetsOnly: z.boolean().default(false).describe("serve only `?p=<preset>` requests (stops arbitrary-size abuse)"),
  legacyPaths: z
    .array(legacyPath)
    .max(64)
    .default(["/timthumb.php"])
    .describe("the TimThumb script paths old URLs use (each redirects to its canonical `/resize` URL); any other `*.php` is a 404. Find them in the old access logs (RUNBOOK.md, Legacy URLs)"),
  signing: z
    .strictObject({
      required: z
        .boolean()
        .default(false)
        .describe("serve only URLs signed with one of the secret `resizerSigningKeys` (403 otherwise): arbitrary sizes need the application's signature"),
      exemptPresets: z.boolean().default(true).describe("preset URLs (`?src=&p=<name>`) need no signature"),
      exemptLegacy: z.boolean().default(false).describe("legacy TimThumb URLs need no signature: they redirect to a signed canonical URL"),
    })
    .prefault({})
    .describe("signed URLs (README, Signed URLs): HMAC-SHA256 of the canonical request, key rotation by listing several keys"),
  allowVector: z.boolean().default(false).describe("decode SVG sources (librsvg widens the attack surface); PDF never decodes"),
  storyboard: storyboardSchema
    .prefault({})
    .describe("storyboards for players (`GET /storyboard/...`: a WebVTT thumbnails track and its sprite sheets from an episode's stills; resizer/README.md, Storyboards)"),
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
  maxOutputPixels: "RESIZER_MAX_OUTPUT_PIXELS",
  memoryBudgetMb: "RESIZER_MEMORY_BUDGET_MB",
  avifEffort: "RESIZER_AVIF_EFFORT",
  cacheControl: "RESIZER_CACHE_CONTROL",
  errorCacheControl: "RESIZER_ERROR_CACHE_CONTROL",
  clientTimeoutMs: "RESIZER_CLIENT_TIMEOUT_MS",
  vipsThreads: "RESIZER_VIPS_THREADS",
  presets: "RESIZER_PRESETS",
  presetsOnly: "RESIZER_PRESETS_ONLY",
  legacyPaths: "RESIZER_LEGACY_PATHS",
  signing: "RESIZER_SIGNING",
  allowVector: "RESIZER_ALLOW_VECTOR",
  storyboard: "RESIZER_STORYBOARD",
} as const satisfies Record<keyof ServiceSettings, string>;

/** Where the process listens and what it serves; set per replica by the deployment. */
export const PROCESS_ENV = {
  host: "RESIZER_HOST",
  port: "RESIZER_PORT",
  root: "RESIZER_ROOT",
  /** Secret: a JSON array of keys; the first signs, every one verifies (rotation). */
  signingKeys: "RESIZER_SIGNING_KEYS",
} as const;

export interface ProcessSettings {
  host: string;
  port: number;
  root: string;
  /** HMAC keys of signed URLs (secret; never part of the cluster config's plain values). */
  signingKeys: string[];
}

/** A signing key: long enough to resist guessing (32 bytes of entropy as base64 is 43 characters). */
export const signingKeys = z.array(z.string().min(32, "at least 32 characters (e.g. `openssl rand -base64 32`)")).max(8);

/**
 * Settings -> environment strings (objects as JSON, booleans as true/false). The signing keys
 * are left out: a secret reaches the process by another path (the deployment adds
 * PROCESS_ENV.signingKeys itself, as a secret).
 */
export function toEnv(settings: ServiceSettings, proc: Omit<ProcessSettings, "signingKeys">): Record<string, string> {
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

/** Settings the environment holds as JSON (objects and maps). */
const JSON_SETTINGS = new Set<keyof ServiceSettings>(["presets", "storyboard", "maxOutputPixels", "legacyPaths", "signing"]);

/**
 * Limits that span two settings, which the per-field schema cannot see: a preset larger
 * than `maxOutputDimension` would answer 400 to every request that names it; a storyboard
 * default its own limits refuse would answer 400 to every URL relying on it. By path (from
 * a setting's key), so the cluster config can list them next to its own problems.
 */
export function settingsProblems(settings: ServiceSettings): SettingsProblem[] {
  const problems: SettingsProblem[] = [];
  const issue = (path: string[], message: string) => problems.push({ path, message });
  for (const [name, preset] of Object.entries(settings.presets)) {
    for (const side of ["w", "h"] as const) {
      const value = preset[side];
      if (value !== undefined && value > settings.maxOutputDimension) {
        issue(["presets", name, side], `${value} exceeds maxOutputDimension (${settings.maxOutputDimension})`);
      }
    }
  }
  problems.push(...storyboardProblems(settings.storyboard).map((p) => ({ ...p, path: ["storyboard", ...p.path] })));
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
      if (JSON_SETTINGS.has(key)) raw[key] = JSON.parse(text);
      else if (shape.def.innerType instanceof z.ZodString) raw[key] = text;
      else if (shape.def.innerType instanceof z.ZodBoolean) raw[key] = envBool.parse(text);
      else raw[key] = envInt.parse(text);
    } catch {
      problems.push(`${ENV_NAMES[key]}: cannot parse ${JSON.stringify(text)}`);
    }
  }
  const service = serviceSchema.safeParse(raw);
  if (service.success) {
    // `RESIZER_PRESETS: presets.big.w: ...`: the variable to fix, then where in it.
    problems.push(...settingsProblems(service.data).map((p) => `${ENV_NAMES[p.path[0] as keyof ServiceSettings]}: ${p.path.join(".")}: ${p.message}`));
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
  let keys: string[] = [];
  try {
    const parsed = signingKeys.safeParse(JSON.parse(env[PROCESS_ENV.signingKeys] || "[]"));
    if (parsed.success) keys = parsed.data;
    else problems.push(`${PROCESS_ENV.signingKeys}: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
  } catch {
    problems.push(`${PROCESS_ENV.signingKeys}: a JSON array of keys`);
  }
  if (service.success && service.data.signing.required && keys.length === 0) {
    problems.push(`${PROCESS_ENV.signingKeys}: ${ENV_NAMES.signing} requires signed URLs, but no key is set`);
  }
  if (problems.length > 0 || !service.success || !port.success) {
    throw new Error(`invalid resizer settings:\n  ${problems.join("\n  ")}`);
  }
  return { ...service.data, host: env[PROCESS_ENV.host] ?? "127.0.0.1", port: port.data, root, signingKeys: keys };
}
