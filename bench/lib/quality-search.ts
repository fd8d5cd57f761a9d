// "Bytes at equal quality": the lowest encoder quality whose output is at least as close
// to the reference (SSIM) as a target, found by binary search. Pure: the encoding and
// the SSIM are the caller's `evaluate`.

export interface Encoded {
  /** SSIM of the decoded output against the reference (1 = identical). */
  ssim: number;
  bytes: number;
}

export interface QualityMatch extends Encoded {
  q: number;
  /** False when even the highest quality stays below the target (then q = hi). */
  reached: boolean;
  /** Encodes the search needed. */
  evaluations: number;
}

/**
 * Smallest q in [lo, hi] with ssim >= target, by binary search: SSIM grows with q. Where an
 * encoder's curve dips (it may, slightly), the answer can be a higher q than the lowest,
 * never one below the target: only a q that reached it is ever returned as reached. Each
 * q is evaluated at most once.
 */
export async function lowestQualityReaching(
  target: number,
  evaluate: (q: number) => Promise<Encoded>,
  range: { lo: number; hi: number } = { lo: 1, hi: 100 },
): Promise<QualityMatch> {
  const seen = new Map<number, Encoded>();
  const at = async (q: number) => {
    let e = seen.get(q);
    if (e === undefined) {
      e = await evaluate(q);
      seen.set(q, e);
    }
    return e;
  };
  const top = await at(range.hi);
  if (top.ssim < target) return { q: range.hi, ...top, reached: false, evaluations: seen.size };
  // Invariant: hi reaches the target; every q < lo is known not to.
  let lo = range.lo;
  let hi = range.hi;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await at(mid)).ssim >= target) hi = mid;
    else lo = mid + 1;
  }
  return { q: hi, ...(await at(hi)), reached: true, evaluations: seen.size };
}
