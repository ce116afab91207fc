// Draws the app icon (a speech bubble holding a video camera) into client/public/icons: an SVG, and PNGs for the
// web app manifest and iOS. The drawing is a handful of rounded rectangles and polygons, so this script can
// rasterize it itself (supersampled for smooth edges) and write the PNGs with node:zlib: no image library.
// Run it after changing the drawing: npx tsx scripts/make-icons.ts (the outputs are committed).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';

type Shape =
  | { kind: 'rect'; x: number; y: number; w: number; h: number; r: number; fill: string }
  | { kind: 'polygon'; points: readonly (readonly [number, number])[]; fill: string };

const ACCENT = '#0b63ce'; // --accent in client/src/app/app.css
const PAPER = '#ffffff';

/** The drawing on a 512 × 512 grid, back to front. `bleed`: a full square, as maskable and iOS icons want. */
function drawing(bleed: boolean): Shape[] {
  const background: Shape = bleed
    ? { kind: 'rect', x: 0, y: 0, w: 512, h: 512, r: 0, fill: ACCENT }
    : { kind: 'rect', x: 0, y: 0, w: 512, h: 512, r: 112, fill: ACCENT };
  const figure: Shape[] = [
    // The bubble and its tail, bottom left.
    { kind: 'rect', x: 88, y: 112, w: 336, h: 240, r: 60, fill: PAPER },
    {
      kind: 'polygon',
      points: [
        [150, 330],
        [240, 330],
        [132, 420],
      ],
      fill: PAPER,
    },
    // The camera: body and lens.
    { kind: 'rect', x: 150, y: 176, w: 148, h: 112, r: 24, fill: ACCENT },
    {
      kind: 'polygon',
      points: [
        [286, 232],
        [364, 184],
        [364, 280],
      ],
      fill: ACCENT,
    },
  ];
  // A maskable icon may be cut to a circle of 80% of its size: shrink the figure into that safe zone.
  return [background, ...(bleed ? figure.map((s) => scaled(s, 0.8)) : figure)];
}

function scaled(shape: Shape, k: number): Shape {
  const at = (v: number): number => 256 + (v - 256) * k;
  if (shape.kind === 'polygon')
    return { ...shape, points: shape.points.map(([x, y]) => [at(x), at(y)] as const) };
  return { ...shape, x: at(shape.x), y: at(shape.y), w: shape.w * k, h: shape.h * k, r: shape.r * k };
}

function toSvg(shapes: readonly Shape[]): string {
  const n = (v: number): string => String(Math.round(v * 100) / 100);
  const body = shapes.map((s) =>
    s.kind === 'rect'
      ? `  <rect x="${n(s.x)}" y="${n(s.y)}" width="${n(s.w)}" height="${n(s.h)}" rx="${n(s.r)}" fill="${s.fill}"/>`
      : `  <polygon points="${s.points.map(([x, y]) => `${n(x)},${n(y)}`).join(' ')}" fill="${s.fill}"/>`,
  );
  return [
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">',
    '  <title>OpiVoice UCC</title>',
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function covers(s: Shape, x: number, y: number): boolean {
  if (s.kind === 'rect') {
    if (x < s.x || y < s.y || x > s.x + s.w || y > s.y + s.h) return false;
    // Inside the rectangle: only the corner squares need the distance to their arc's centre.
    const cx = Math.min(Math.max(x, s.x + s.r), s.x + s.w - s.r);
    const cy = Math.min(Math.max(y, s.y + s.r), s.y + s.h - s.r);
    return (x - cx) ** 2 + (y - cy) ** 2 <= s.r ** 2;
  }
  // Even-odd rule.
  let inside = false;
  const pts = s.points;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i] ?? [0, 0];
    const [xj, yj] = pts[j] ?? [0, 0];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function rgb(hex: string): [number, number, number] {
  const v = Number.parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** RGBA pixels of the drawing at `size` pixels, 4 × 4 samples per pixel. */
function rasterize(shapes: readonly Shape[], size: number): Buffer {
  const colours = shapes.map((s) => rgb(s.fill));
  const px = Buffer.alloc(size * size * 4);
  const grid = 4;
  const unit = 512 / size;
  for (let py = 0; py < size; py++) {
    for (let pxX = 0; pxX < size; pxX++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let hits = 0;
      for (let sy = 0; sy < grid; sy++) {
        for (let sx = 0; sx < grid; sx++) {
          const x = (pxX + (sx + 0.5) / grid) * unit;
          const y = (py + (sy + 0.5) / grid) * unit;
          for (let i = shapes.length - 1; i >= 0; i--) {
            const shape = shapes[i];
            const colour = colours[i];
            if (shape && colour && covers(shape, x, y)) {
              r += colour[0];
              g += colour[1];
              b += colour[2];
              hits++;
              break;
            }
          }
        }
      }
      const o = (py * size + pxX) * 4;
      if (hits > 0) {
        // Colour averaged over the covered samples (straight alpha), coverage as alpha.
        px[o] = Math.round(r / hits);
        px[o + 1] = Math.round(g / hits);
        px[o + 2] = Math.round(b / hits);
        px[o + 3] = Math.round((255 * hits) / grid ** 2);
      }
    }
  }
  return px;
}

function png(rgba: Buffer, size: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bits per channel
  ihdr[9] = 6; // RGBA
  // Each row starts with its filter type; 0 (none) is enough, deflate does the rest.
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const out = path.resolve(import.meta.dirname, '..', 'client', 'public', 'icons');
await mkdir(out, { recursive: true });
const plain = drawing(false);
const bleed = drawing(true);
const files: [string, string | Buffer][] = [
  ['icon.svg', toSvg(plain)],
  ['icon-192.png', png(rasterize(plain, 192), 192)],
  ['icon-512.png', png(rasterize(plain, 512), 512)],
  ['icon-maskable-512.png', png(rasterize(bleed, 512), 512)],
  ['apple-touch-icon.png', png(rasterize(bleed, 180), 180)],
];
for (const [name, data] of files) await writeFile(path.join(out, name), data);
process.stdout.write(
  `icons written to ${path.relative(process.cwd(), out)}: ${files.map(([n]) => n).join(', ')}\n`,
);
