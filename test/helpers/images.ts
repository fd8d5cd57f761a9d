// Real test images, generated with sharp (nothing binary is committed). The "quadrants"
// picture has a different colour in each corner, so orientation and crop position can be
// checked by sampling pixels of the decoded response.
import { mkfifo } from "./fs-extra.js";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { crc32 } from "node:zlib";
import sharp from "sharp";

export const RED = [255, 0, 0] as const;
export const GREEN = [0, 255, 0] as const;
export const BLUE = [0, 0, 255] as const;
export const WHITE = [255, 255, 255] as const;
type Rgb = readonly [number, number, number];

/** Top-left red, top-right green, bottom-left blue, bottom-right white. */
export function quadrants(width: number, height: number): sharp.Sharp {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const colour = y < height / 2 ? (x < width / 2 ? RED : GREEN) : x < width / 2 ? BLUE : WHITE;
      raw.set(colour, (y * width + x) * 3);
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } });
}

/** A photo-like 1920x1080 gradient with noise, the benchmark's typical source. */
export function photo(width = 1920, height = 1080): sharp.Sharp {
  const raw = Buffer.alloc(width * height * 3);
  let seed = 42;
  for (let i = 0, y = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i += 3) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const noise = (seed >> 16) & 31;
      raw[i] = ((x * 255) / width + noise) & 255;
      raw[i + 1] = ((y * 255) / height + noise) & 255;
      raw[i + 2] = (((x + y) * 128) / (width + height) + noise) & 255;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } });
}

/** An animated GIF whose frames are solid `colours`, each `width`x`height`. */
export function animatedGif(width: number, height: number, colours: readonly Rgb[]): Promise<Buffer> {
  const frame = width * height * 4;
  const raw = Buffer.alloc(frame * colours.length);
  colours.forEach((c, f) => {
    for (let i = 0; i < width * height; i++) raw.set([...c, 255], f * frame + i * 4);
  });
  return sharp(raw, { raw: { width, height: height * colours.length, channels: 4, pageHeight: height } })
    .gif({ loop: 0, delay: colours.map(() => 100) })
    .toBuffer();
}

/**
 * A PNG whose header declares `width`x`height` but holds no real pixel data: decoding it
 * would fail (422), so a 413 proves the pixel limit was enforced from the header alone.
 */
export function pngBomb(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

export const SVG = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"><rect width="200" height="100" fill="#00f"/></svg>',
);
export const PDF = Buffer.from(
  "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj " +
    "3 0 obj<</Type/Page/MediaBox[0 0 200 100]/Parent 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
);

/**
 * The images tree every service test uses. `outside` is a sibling directory holding a
 * real image that only a symlink escaping the root could reach.
 */
export async function writeFixtures(root: string, outside: string): Promise<void> {
  await mkdir(path.join(root, "dir", "sub"), { recursive: true });
  await mkdir(outside, { recursive: true });
  const jpeg = await quadrants(400, 300).jpeg({ quality: 95 }).toBuffer();
  const files: Record<string, Buffer> = {
    "quadrants.jpg": jpeg,
    "dir/sub/photo.jpg": await photo(1920, 1080).jpeg({ quality: 90 }).toBuffer(),
    // Stored 400x200 landscape; orientation 6 = "rotate 90° clockwise to display": 200x400.
    "rotated.jpg": await quadrants(400, 200).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer(),
    "cmyk.jpg": await quadrants(400, 300).toColourspace("cmyk").jpeg({ quality: 95 }).toBuffer(),
    "deep.png": await quadrants(400, 300).toColourspace("rgb16").png().toBuffer(),
    "alpha.png": await quadrants(400, 300).ensureAlpha(0).png().toBuffer(),
    "quadrants.webp": await quadrants(400, 300).webp({ lossless: true }).toBuffer(),
    "quadrants.avif": await quadrants(400, 300).avif({ quality: 90 }).toBuffer(),
    "anim.gif": await animatedGif(160, 120, [RED, GREEN, BLUE]),
    "tall.png": await quadrants(10, 4000).png().toBuffer(),
    "not-an-image.jpg": Buffer.from("this is a text file, not a JPEG\n"),
    "truncated.jpg": jpeg.subarray(0, Math.floor(jpeg.length / 2)),
    "corrupt.jpg": Buffer.concat([jpeg.subarray(0, 600), Buffer.alloc(jpeg.length - 600, 0x5a)]),
    "bomb.png": pngBomb(100_000, 100_000),
    "vector.svg": SVG,
    "vector-named.jpg": SVG,
    "doc.pdf": PDF,
    "a b+c.jpg": jpeg,
  };
  for (const [name, bytes] of Object.entries(files)) await writeFile(path.join(root, name), bytes);
  await writeFile(path.join(outside, "secret.jpg"), jpeg);
  await symlink(path.join(outside, "secret.jpg"), path.join(root, "escape.jpg"));
  await symlink(path.join(outside), path.join(root, "escape-dir"));
  await symlink("quadrants.jpg", path.join(root, "alias.jpg"));
  await mkfifo(path.join(root, "fifo.jpg"));
}
