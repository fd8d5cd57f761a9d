// Cache validators. The ETag is known before any decoding: it is a hash of what
// determines the bytes (source identity, canonical transform, negotiated variant, engine
// versions), so a revalidation (If-None-Match from the master) costs one stat.
import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** Bump when the pipeline changes output for the same inputs (encoder settings, steps). */
export const PIPELINE_REVISION = 2;

export interface EtagInputs {
  src: string;
  mtimeNs: string;
  size: number;
  canonical: string;
  variant: string | undefined;
  engine: string;
}

/** Strong: equal tags mean byte-identical bodies (libvips output is deterministic). */
export function strongEtag(i: EtagInputs): string {
  return etagOf([PIPELINE_REVISION, i.engine, i.src, i.mtimeNs, i.size, i.canonical, i.variant ?? ""]);
}

/** A strong ETag from everything that determines a body (JSON-serialisable values). */
export function etagOf(identity: readonly unknown[]): string {
  return `"${createHash("sha256").update(JSON.stringify(identity)).digest("base64url").slice(0, 32)}"`;
}

/**
 * RFC 9110 §13.1.2/§13.1.3: If-None-Match (weak comparison, `*` matches) wins; only
 * without it is If-Modified-Since consulted, at one-second resolution.
 */
export function notModified(headers: IncomingHttpHeaders, etag: string, mtimeMs: number): boolean {
  const inm = headers["if-none-match"];
  if (inm !== undefined) {
    return inm.split(",").some((tag) => {
      const t = tag.trim();
      return t === "*" || (t.startsWith("W/") ? t.slice(2) : t) === etag;
    });
  }
  const ims = headers["if-modified-since"];
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  return Number.isFinite(since) && Math.floor(mtimeMs / 1000) * 1000 <= since;
}

export const httpDate = (ms: number): string => new Date(ms).toUTCString();
