// Values written the way the Docker provider stores them after it reads a container back.
// The bridged provider diffs what it stored against what the program sends (pulumi-terraform-
// bridge tfbridge/provider.go Diff), so a value sent in another spelling is a change on every
// `up`, and for `cpus` (ForceNew) a replacement of every resizer. Sources, per function; the
// lifecycle tier (test/lifecycle, infra/lifecycle) checks each against its own model of the
// provider's read-back. Pure.

const NANO = 1_000_000_000n;

/** Nano-CPUs of a CPU count, as Docker keeps them (an integer). */
function nanoCpus(cpus: number): bigint {
  return BigInt(Math.round(cpus * 1e9));
}

/**
 * kreuzwerker/terraform-provider-docker v4.5.0 helpers.go `nanoInt64ToDecimalString`: the
 * rational printed with 9 decimals; if that text holds exactly nine `0`s (counted over the
 * whole text) it is printed with one decimal (rounded), else its trailing zeros are cut.
 */
function nanoToDecimalString(nano: bigint): string {
  if (nano === 0n) return "0";
  const whole = nano / NANO;
  const nine = `${whole}.${(nano % NANO).toString().padStart(9, "0")}`;
  if ([...nine].filter((c) => c === "0").length === 9) {
    const tenths = (nano * 10n + NANO / 2n) / NANO; // FloatString(1): half away from zero
    return `${tenths / 10n}.${tenths % 10n}`;
  }
  return nine.replace(/0+$/, "");
}

/** docker/cli opts.ParseCPUs on the provider's text: the nano-CPUs Docker is asked for. */
function parseCpus(text: string): bigint {
  const [whole = "0", frac = ""] = text.split(".");
  return BigInt(whole || "0") * NANO + BigInt((frac + "000000000").slice(0, 9));
}

/**
 * `cpus` as the provider reads it back (resource_docker_container_funcs.go L946-948): 2 ->
 * "2.0", 1.5 -> "1.5", 10 -> "10." (the provider's own spelling). Sent in this form, the
 * stored value equals the new one and a second `up` sees no change.
 */
export function providerCpus(cpus: number): string {
  return nanoToDecimalString(nanoCpus(cpus));
}

/**
 * Whether `providerCpus` keeps the value: Docker takes at most nine decimals, and a few
 * values print as another one (10.01 -> "10.0"), which would change the limit. The config
 * refuses those (config.ts, resizer `cpus`).
 */
export function cpusKeptByProvider(cpus: number): boolean {
  const nano = nanoCpus(cpus);
  return Math.abs(cpus * 1e9 - Number(nano)) < 1e-3 && parseCpus(providerCpus(cpus)) === nano;
}

/**
 * Go's `time.Duration.String()` of whole seconds, which is how the provider reads back a
 * healthcheck's interval, timeout and start period (funcs L960-971): 10 -> "10s", 60 ->
 * "1m0s", 300 -> "5m0s", 3600 -> "1h0m0s".
 */
export function goDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`a duration in whole seconds, not ${seconds}`);
  if (seconds === 0) return "0s";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
