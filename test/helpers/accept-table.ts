// One table of Accept headers and the format `fmt=auto` must answer, run against every
// place that decides it: the resizer's negotiation (in-process, over HTTP), the master's
// nginx map as the test reader evaluates it, and the real master in front of real
// resizers. RFC 9110 §12.5.1: an element naming the type exactly, with a weight above 0.
export const ACCEPT_TABLE: readonly (readonly [accept: string | undefined, variant: "avif" | "webp" | "jpeg"])[] = [
  ["image/avif,image/webp,image/apng,image/*,*/*;q=0.8", "avif"],
  ["image/webp,*/*", "webp"],
  ["IMAGE/WEBP", "webp"],
  ["image/png,image/*;q=0.8,*/*;q=0.5", "jpeg"],
  ["*/*", "jpeg"],
  ["", "jpeg"],
  [undefined, "jpeg"],
  ["image/avif;q=0,image/webp", "webp"],
  ["image/avif; q=0.0, image/webp;q=0", "jpeg"],
  ["image/avif;q=0.5", "avif"],
  ["text/html,application/xhtml+xml", "jpeg"],
  // Not the type: a longer subtype, another top-level type.
  ["image/webpx", "jpeg"],
  ["image/avifx", "jpeg"],
  ["x-notimage/webp", "jpeg"],
  ["image/webp2, image/avif-sequence", "jpeg"],
  ["foo-image/avif;q=1", "jpeg"],
  // Refused whatever comes before the weight.
  ["image/webp;foo=1;q=0", "jpeg"],
  ["image/webp ; level=2 ; Q=0.000", "jpeg"],
  ['image/webp;x="a,b;q=1";q=0', "jpeg"],
  // Accepted with parameters, odd spacing, case and the smallest weights.
  ["image/webp;foo=1", "webp"],
  ["image/webp;q=0.001", "webp"],
  ["image/webp;foo=bar;q=1.000", "webp"],
  ['text/html;x="image/avif", image/webp ;q=0.5', "webp"],
  ["text/html , IMAGE/AVIF\t;\tq=1", "avif"],
  [",,image/webp,", "webp"],
  // Malformed weights accept nothing.
  ["image/webp;q=2", "jpeg"],
  ["image/webp;q=0.5x", "jpeg"],
  ["image/webp;q=", "jpeg"],
  ["image/webp;q=.5", "jpeg"],
  // Refused once, listed again acceptably.
  ["image/avif;q=0, image/avif;q=0.1", "avif"],
];
