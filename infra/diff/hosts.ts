// Host lists as reviewers read them: `img01–img05`, `img01, img03`, in the stack's order.
// Pure.

/**
 * Hosts named in `order` (the stack's `hosts`), runs of three or more neighbours joined
 * with an en dash. Names missing from `order` (a host only one side knows) come last, sorted.
 */
export function hostLabel(hosts: Iterable<string>, order: readonly string[]): string {
  const wanted = new Set(hosts);
  const known = order.filter((h) => wanted.has(h));
  const unknown = [...wanted].filter((h) => !order.includes(h)).sort();
  const parts: string[] = [];
  let run: string[] = [];
  const flush = () => {
    if (run.length >= 3) parts.push(`${run[0]}–${run[run.length - 1]}`);
    else parts.push(...run);
    run = [];
  };
  let last = -2;
  for (const h of known) {
    const i = order.indexOf(h);
    if (i !== last + 1) flush();
    run.push(h);
    last = i;
  }
  flush();
  return [...parts, ...unknown].join(", ");
}

/** `name` and `address` in `text` replaced by placeholders, only where they stand alone. */
export function withPlaceholders(text: string, host: { name: string; address?: string }): string {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  let out = text.replace(new RegExp(`(?<![A-Za-z0-9])${escape(host.name)}(?![A-Za-z0-9])`, "g"), HOST_PLACEHOLDER);
  if (host.address) out = out.replace(new RegExp(`(?<![0-9A-Fa-f.:])${escape(host.address)}(?![0-9A-Fa-f]|\\.[0-9])`, "g"), ADDRESS_PLACEHOLDER);
  return out;
}

export const HOST_PLACEHOLDER = "{host}";
export const ADDRESS_PLACEHOLDER = "{address}";
