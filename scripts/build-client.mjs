// Bundles the browser client (client/src) with esbuild into client/dist, which the server serves at the root:
// client/dist/<page>.html and client/dist/assets/<page>.js (+ .css, source maps). The web app (client/src/app,
// React) becomes client/dist/index.html with assets/app.js and assets/app.css.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'client', 'src');
const dist = path.join(root, 'client', 'dist');
const pages = ['media-test'];

const started = performance.now();
await rm(dist, { recursive: true, force: true });
await mkdir(path.join(dist, 'assets'), { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: [
    ...pages.flatMap((page) => [
      { in: path.join(src, page, 'main.ts'), out: page },
      { in: path.join(src, page, `${page}.css`), out: page },
    ]),
    { in: path.join(src, 'app', 'main.tsx'), out: 'app' },
    { in: path.join(src, 'app', 'app.css'), out: 'app' },
  ],
  outdir: path.join(dist, 'assets'),
  bundle: true,
  format: 'esm',
  // The meeting room (mediasoup-client) is a separate chunk, loaded with React.lazy once admitted.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  sourcemap: true,
  tsconfig: path.join(root, 'client', 'tsconfig.json'),
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
  metafile: true,
});
await Promise.all([
  ...pages.map((page) => copyFile(path.join(src, page, `${page}.html`), path.join(dist, `${page}.html`))),
  copyFile(path.join(src, 'app', 'index.html'), path.join(dist, 'index.html')),
]);

const sizes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith('.js') && /assets\/(app|chunks\/)/.test(file))
  .map(([file, out]) => `${path.basename(file)} ${(out.bytes / 1024).toFixed(1)} KiB`);
process.stderr.write(`app bundles: ${sizes.join(', ')}\n`);
process.stderr.write(`client built into client/dist in ${Math.round(performance.now() - started)} ms\n`);
