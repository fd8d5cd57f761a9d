// One URL per result. Every request is answered either from its canonical URL or with a
// redirect to it (before any file is touched), so the master, which caches by URL, keeps
// one entry per distinct result however a client spells it: parameter order, case,
// leading zeros, percent-encoding, TimThumb's ignored parameters, the legacy script names.
// And the signing policy: which URLs need a valid signature. Pure.
import { ResizeError } from "./errors.js";
import type { ResizeRequest } from "./params.js";
import type { ServiceSettings } from "./settings.js";
import { sign, verify } from "./signing.js";

export type Verdict = { kind: "serve" } | { kind: "redirect"; location: string };

/**
 * Browsers may keep a redirect for an hour (an old spelling in a page costs one round trip
 * per hour); shared caches, the master's included, must not keep it at all.
 */
export const REDIRECT_CACHE_CONTROL = "private, max-age=3600";

/**
 * Serve `request` at the URL it came by, or redirect it to its canonical URL; throws 403
 * when the signing policy refuses it. `rawQuery` is the query exactly as received.
 */
export function urlVerdict(
  request: ResizeRequest,
  rawQuery: string,
  legacy: boolean,
  signing: ServiceSettings["signing"],
  keys: readonly string[],
): Verdict {
  const needsSignature = signing.required && !(request.preset !== undefined && signing.exemptPresets);
  let sig = request.sig;
  if (legacy) {
    if (needsSignature && !signing.exemptLegacy) {
      throw new ResizeError("signature_required", "legacy URLs are not served here: ask for a signed /resize URL");
    }
    // Exempt: its redirect carries the signature the client could not have.
    sig = needsSignature ? sign(keys[0]!, request.canonicalQuery) : undefined;
  } else if (sig !== undefined) {
    if (keys.length === 0) throw new ResizeError("bad_param", "sig: this service does not use signed URLs");
    if (!verify(keys, request.canonicalQuery, sig)) throw new ResizeError("bad_signature", "sig: not a valid signature of this request");
  } else if (needsSignature) {
    throw new ResizeError("signature_required", "only signed URLs are served here");
  }
  const query = sig === undefined ? request.canonicalQuery : `${request.canonicalQuery}&sig=${sig}`;
  return !legacy && rawQuery === query ? { kind: "serve" } : { kind: "redirect", location: `/resize?${query}` };
}
