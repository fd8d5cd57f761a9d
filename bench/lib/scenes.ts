// Pixels of the benchmark's sources: deterministic, photo-like scenes (sky with clouds,
// mountain ridges, grass, foliage) from fractal value noise, so encoders meet what real
// photos give them (smooth gradients next to fine texture), never flat colours. Pure:
// raw RGB buffers in, nothing written.

export interface RawImage {
  width: number;
  height: number;
  /** 8-bit RGB, row-major. */
  data: Buffer;
}

/** mulberry32: a small deterministic PRNG in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const smooth = (t: number) => t * t * (3 - 2 * t);
const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

export interface NoiseOptions {
  seed: number;
  /** Lattice spacing of the first octave, in pixels (x, and y unless `cellY`). */
  cell: number;
  cellY?: number;
  octaves: number;
  /** Amplitude factor per octave (0.5: each finer octave half as strong). */
  persistence?: number;
}

/**
 * Fractal value noise in [0, 1]: octaves of a random lattice, smoothly interpolated, each
 * twice as fine as the last.
 */
export function fractalNoise(width: number, height: number, o: NoiseOptions): Float32Array {
  const out = new Float32Array(width * height);
  const random = rng(o.seed);
  const persistence = o.persistence ?? 0.5;
  let amplitude = 1;
  let total = 0;
  for (let oct = 0; oct < o.octaves; oct++) {
    const cx = Math.max(1, o.cell / 2 ** oct);
    const cy = Math.max(1, (o.cellY ?? o.cell) / 2 ** oct);
    const gw = Math.ceil(width / cx) + 2;
    const gh = Math.ceil(height / cy) + 2;
    const lattice = new Float32Array(gw * gh);
    for (let i = 0; i < lattice.length; i++) lattice[i] = random();
    const x0s = new Int32Array(width);
    const txs = new Float32Array(width);
    for (let x = 0; x < width; x++) {
      const gx = x / cx;
      x0s[x] = Math.floor(gx);
      txs[x] = smooth(gx - Math.floor(gx));
    }
    for (let y = 0; y < height; y++) {
      const gy = y / cy;
      const y0 = Math.floor(gy);
      const ty = smooth(gy - y0);
      const row0 = y0 * gw;
      const row1 = row0 + gw;
      const base = y * width;
      for (let x = 0; x < width; x++) {
        const x0 = x0s[x]!;
        const tx = txs[x]!;
        const a = lattice[row0 + x0]! + (lattice[row0 + x0 + 1]! - lattice[row0 + x0]!) * tx;
        const b = lattice[row1 + x0]! + (lattice[row1 + x0 + 1]! - lattice[row1 + x0]!) * tx;
        out[base + x] = out[base + x]! + (a + (b - a) * ty) * amplitude;
      }
    }
    total += amplitude;
    amplitude *= persistence;
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / total;
  return out;
}

type Rgb = [number, number, number];
const mix = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];

function put(data: Buffer, i: number, c: Rgb, grain: number): void {
  data[i] = Math.max(0, Math.min(255, Math.round(c[0] + grain)));
  data[i + 1] = Math.max(0, Math.min(255, Math.round(c[1] + grain)));
  data[i + 2] = Math.max(0, Math.min(255, Math.round(c[2] + grain)));
}

/**
 * A landscape: blue sky with fractal clouds and a sun glow, two hazy mountain ridges,
 * a field of grass with fine texture. Scales with the size (same scene at any resolution).
 */
export function landscape(width: number, height: number, seed = 1): RawImage {
  const data = Buffer.alloc(width * height * 3);
  const s = width / 1920;
  const clouds = fractalNoise(width, height, { seed, cell: 320 * s, octaves: 7 });
  const rock = fractalNoise(width, height, { seed: seed + 1, cell: 40 * s, octaves: 5 });
  const grass = fractalNoise(width, height, { seed: seed + 2, cell: 3 * s, cellY: 14 * s, octaves: 3, persistence: 0.7 });
  const meadow = fractalNoise(width, height, { seed: seed + 3, cell: 160 * s, octaves: 4 });
  const far = fractalNoise(width, 1, { seed: seed + 4, cell: 300 * s, octaves: 6 });
  const near = fractalNoise(width, 1, { seed: seed + 5, cell: 180 * s, octaves: 6 });
  const random = rng(seed + 6);
  const horizon = height * 0.62;
  const sun = { x: width * 0.74, y: height * 0.3, r: height * 0.18 };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const farTop = horizon - height * (0.1 + 0.22 * far[x]!);
      const nearTop = horizon - height * (0.02 + 0.16 * near[x]!) + height * 0.05;
      let c: Rgb;
      if (y < farTop) {
        const t = y / horizon;
        c = mix([38, 86, 168], [196, 216, 236], t);
        const d2 = ((x - sun.x) ** 2 + (y - sun.y) ** 2) / sun.r ** 2;
        c = mix(c, [255, 236, 196], Math.exp(-d2) * 0.7);
        const cloud = clamp01((clouds[p]! - 0.5) * 3.2);
        const shade = 235 - 60 * clamp01((clouds[p]! - 0.6) * 2.5);
        c = mix(c, [shade, shade, shade + 6], cloud * 0.92);
      } else if (y < nearTop) {
        const haze = clamp01((y - farTop) / (height * 0.25));
        c = mix([112, 128, 156], [78, 96, 110], haze);
        c = mix(c, [150, 150, 160], (rock[p]! - 0.5) * 0.9);
      } else if (y < horizon + height * 0.05) {
        c = mix([58, 82, 48], [40, 62, 36], rock[p]!);
        c = mix(c, [96, 90, 70], clamp01((rock[p]! - 0.55) * 3));
      } else {
        const depth = (y - horizon) / (height - horizon);
        c = mix([104, 128, 52], [150, 152, 62], meadow[p]!);
        c = mix(c, [46, 70, 24], (1 - grass[p]!) * (0.35 + 0.5 * depth));
        c = mix(c, [198, 182, 96], clamp01((meadow[p]! - 0.62) * 4) * 0.6);
      }
      put(data, p * 3, c, (random() - 0.5) * 6);
    }
  }
  return { width, height, data };
}

/**
 * Foliage in dappled light: leaves at three scales with shading from the noise's slope,
 * sunlit patches, dark gaps. Detail everywhere: the hard case for encoders.
 */
export function foliage(width: number, height: number, seed = 7): RawImage {
  const data = Buffer.alloc(width * height * 3);
  const s = width / 4000;
  const leaves = fractalNoise(width, height, { seed, cell: 90 * s, octaves: 6, persistence: 0.55 });
  const fine = fractalNoise(width, height, { seed: seed + 1, cell: 10 * s, octaves: 3 });
  const light = fractalNoise(width, height, { seed: seed + 2, cell: 700 * s, octaves: 4 });
  const hue = fractalNoise(width, height, { seed: seed + 3, cell: 400 * s, octaves: 3 });
  const random = rng(seed + 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const n = leaves[p]!;
      const slope = x + 1 < width ? leaves[p + 1]! - n : 0;
      let c = mix([34, 66, 22], [122, 150, 48], hue[p]!);
      c = mix(c, [176, 140, 58], clamp01((hue[p]! - 0.64) * 4));
      const edge = clamp01((n - 0.42) * 6);
      c = mix([14, 22, 10], c, edge);
      c = mix(c, [238, 240, 190], clamp01((light[p]! - 0.55) * 3) * edge * 0.55);
      const shade = 1 + slope * 60 * s + (fine[p]! - 0.5) * 0.5;
      put(data, p * 3, [c[0] * shade, c[1] * shade, c[2] * shade], (random() - 0.5) * 8);
    }
  }
  return { width, height, data };
}

/**
 * A programme poster as SVG: dusk gradient, blurred bokeh lights, a silhouette, a bold
 * title and small credit lines (text edges are what JPEG rings around). The caller
 * renders it (librsvg) and adds `grain`.
 */
export function posterSvg(width: number, height: number, seed = 11): string {
  const random = rng(seed);
  const s = width / 1920;
  const bokeh = Array.from({ length: 38 }, () => {
    const r = (18 + random() * 80) * s;
    const hue = Math.round(20 + random() * 40);
    return `<circle cx="${(random() * width).toFixed(0)}" cy="${(random() * height * 0.8).toFixed(0)}" r="${r.toFixed(0)}" fill="hsl(${hue},90%,${Math.round(55 + random() * 30)}%)" fill-opacity="${(0.25 + random() * 0.5).toFixed(2)}"/>`;
  }).join("");
  const credits = [
    "Directed by Han Seo-yeon   Written by Park Ji-hoon   Music by Lee Min-ho",
    "Produced by Studio Origin in association with Riverside Pictures",
    "Cinematography Choi Da-eun   Editing Kang Tae-woo   Sound Yoon Ha-na",
  ]
    .map((line, i) => `<text x="${120 * s}" y="${(930 + i * 34) * s}" font-size="${24 * s}" fill="#e8dcd0">${line}</text>`)
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
<defs>
<linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#171036"/><stop offset="0.55" stop-color="#5b1f4c"/><stop offset="1" stop-color="#e3703c"/></linearGradient>
<radialGradient id="rim" cx="0.7" cy="0.45" r="0.5"><stop offset="0" stop-color="#ffb36b" stop-opacity="0.85"/><stop offset="1" stop-color="#ffb36b" stop-opacity="0"/></radialGradient>
<filter id="soft"><feGaussianBlur stdDeviation="${(14 * s).toFixed(1)}"/></filter>
<filter id="glow"><feGaussianBlur stdDeviation="${(3 * s).toFixed(1)}"/></filter>
</defs>
<rect width="${width}" height="${height}" fill="url(#bg)"/>
<g filter="url(#soft)">${bokeh}</g>
<rect width="${width}" height="${height}" fill="url(#rim)"/>
<g fill="#120a1c">
<ellipse cx="${1380 * s}" cy="${430 * s}" rx="${120 * s}" ry="${150 * s}"/>
<path d="M${1130 * s} ${height} C${1150 * s} ${700 * s} ${1250 * s} ${610 * s} ${1380 * s} ${600 * s} C${1510 * s} ${610 * s} ${1610 * s} ${700 * s} ${1640 * s} ${height} Z"/>
</g>
<g font-family="DejaVu Sans" font-weight="bold" fill="#ffffff">
<text x="${116 * s}" y="${520 * s}" font-size="${150 * s}" filter="url(#glow)" fill="#ff9a5a" fill-opacity="0.6">THE LAST</text>
<text x="${110 * s}" y="${514 * s}" font-size="${150 * s}">THE LAST</text>
<text x="${110 * s}" y="${670 * s}" font-size="${150 * s}">EPISODE</text>
<text x="${116 * s}" y="${760 * s}" font-size="${46 * s}" fill="#ffd7a8" font-weight="normal">Season 2 · Episode 12 — streaming now</text>
</g>
<g font-family="DejaVu Sans">${credits}</g>
</svg>`;
}

/**
 * A still from a studio show as SVG: a window of daylight, a checkered floor in
 * perspective (hard, aliasing edges), shaded spheres on a table and a subtitle with an
 * outline. The caller renders it and adds `grain`.
 */
export function studioStillSvg(width: number, height: number): string {
  const s = width / 1920;
  const horizon = 560 * s;
  const tiles: string[] = [];
  const cols = 16;
  const rows = 10;
  for (let r = 0; r < rows; r++) {
    // Row r spans depth z0..z1; perspective: y = horizon + k / z.
    const z0 = 1 + r * 0.5;
    const z1 = z0 + 0.5;
    const y0 = horizon + (520 * s) / z1;
    const y1 = horizon + (520 * s) / z0;
    for (let c = -cols; c < cols; c++) {
      if ((r + c) % 2 !== 0) continue;
      const x = (u: number, z: number) => width / 2 + (u * 260 * s) / z;
      tiles.push(`<path d="M${x(c, z1).toFixed(1)} ${y0.toFixed(1)}L${x(c + 1, z1).toFixed(1)} ${y0.toFixed(1)}L${x(c + 1, z0).toFixed(1)} ${y1.toFixed(1)}L${x(c, z0).toFixed(1)} ${y1.toFixed(1)}Z"/>`);
    }
  }
  const sphere = (cx: number, cy: number, r: number, id: string, colour: string) =>
    `<radialGradient id="${id}" cx="0.35" cy="0.3" r="0.75"><stop offset="0" stop-color="#ffffff"/><stop offset="0.25" stop-color="${colour}"/><stop offset="1" stop-color="#0b0b12"/></radialGradient>` +
    `<circle cx="${cx * s}" cy="${cy * s}" r="${r * s}" fill="url(#${id})"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
<defs>
<linearGradient id="wall" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#6d6258"/><stop offset="1" stop-color="#b7a58f"/></linearGradient>
<linearGradient id="floor" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#8a7a66"/><stop offset="1" stop-color="#d9cdb8"/></linearGradient>
<linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#9cc7f0"/><stop offset="1" stop-color="#f4f8fc"/></linearGradient>
<filter id="bloom"><feGaussianBlur stdDeviation="${(22 * s).toFixed(1)}"/></filter>
</defs>
<rect width="${width}" height="${horizon}" fill="url(#wall)"/>
<rect y="${horizon}" width="${width}" height="${height - horizon}" fill="url(#floor)"/>
<g fill="#3b3129" fill-opacity="0.85">${tiles.join("")}</g>
<rect x="${180 * s}" y="${90 * s}" width="${560 * s}" height="${380 * s}" fill="#fffbe8" filter="url(#bloom)"/>
<rect x="${200 * s}" y="${110 * s}" width="${520 * s}" height="${340 * s}" fill="url(#sky)"/>
<path d="M${460 * s} ${110 * s}V${450 * s}M${200 * s} ${280 * s}H${720 * s}" stroke="#4a3f35" stroke-width="${12 * s}"/>
<rect x="${980 * s}" y="${600 * s}" width="${760 * s}" height="${40 * s}" fill="#4b3526"/>
<rect x="${1020 * s}" y="${640 * s}" width="${30 * s}" height="${260 * s}" fill="#3a281c"/>
<rect x="${1670 * s}" y="${640 * s}" width="${30 * s}" height="${260 * s}" fill="#3a281c"/>
${sphere(1120, 520, 80, "a", "#d23b2f")}${sphere(1330, 540, 60, "b", "#2f7bd2")}${sphere(1540, 500, 100, "c", "#e0b12c")}
<text x="${width - 210 * s}" y="${80 * s}" font-family="DejaVu Sans" font-weight="bold" font-size="${40 * s}" fill="#ffffff" fill-opacity="0.85">LIVE</text>
<text x="${width / 2}" y="${980 * s}" text-anchor="middle" font-family="DejaVu Sans" font-size="${54 * s}" fill="#ffffff" stroke="#000000" stroke-width="${4 * s}" paint-order="stroke">And that is how the recipe came back to us.</text>
</svg>`;
}

/** Film grain for an SVG-rendered scene: RGB noise around mid-grey, to blend with `soft-light`. */
export function grain(width: number, height: number, seed: number, strength = 18): RawImage {
  const data = Buffer.alloc(width * height * 3);
  const random = rng(seed);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(128 + (random() + random() - 1) * strength);
  return { width, height, data };
}
