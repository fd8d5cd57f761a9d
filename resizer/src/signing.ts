// Signed URLs: HMAC-SHA256 over the canonical request (`/resize?<canonical query>`), so a
// deployment can refuse every size its application did not ask for. Several keys verify
// (rotation: add the new key first, sign with it, drop the old one later); the first
// signs what the service itself issues (a legacy URL's redirect). Comparison in constant
// time, against every key. Pure apart from node's crypto.
import { createHmac, timingSafeEqual } from "node:crypto";

/** The signature's length in bytes before base64url: 128 bits, 22 characters. */
const SIGNATURE_BYTES = 16;

/** What a URL's `sig` signs. */
export const signedText = (canonicalQuery: string): string => `/resize?${canonicalQuery}`;

/** `sig` for a canonical query with `key`. */
export function sign(key: string, canonicalQuery: string): string {
  return createHmac("sha256", key).update(signedText(canonicalQuery)).digest().subarray(0, SIGNATURE_BYTES).toString("base64url");
}

/** True when `sig` is the signature of `canonicalQuery` under one of `keys`. */
export function verify(keys: readonly string[], canonicalQuery: string, sig: string): boolean {
  const given = Buffer.from(sig, "base64url");
  // base64url decoding is lenient: the text must be exactly what `sign` writes.
  if (given.length !== SIGNATURE_BYTES || given.toString("base64url") !== sig) return false;
  let ok = false;
  for (const key of keys) {
    const expected = createHmac("sha256", key).update(signedText(canonicalQuery)).digest().subarray(0, SIGNATURE_BYTES);
    ok = timingSafeEqual(expected, given) || ok; // every key is tried: the time does not tell which matched
  }
  return ok;
}
