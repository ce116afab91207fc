// The browser client's build (npm run build:client) and dev server (npm run dev:client). Two pages from client/:
// the web app (index.html, React) and the media test page (media-test.html). Built into client/dist with hashed
// assets under assets/ (the meeting room, loaded with React.lazy, is a chunk of its own); client/public
// (manifest, icons) is copied as it is, and src/sw/sw.ts becomes /sw.js with the list of the app shell's files.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, transformWithOxc, type Logger, type Plugin } from 'vite';

const CLIENT = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig(({ command }) => ({
  root: CLIENT,
  // Only client/.env* if anyone adds one: the server's .env at the repo root holds secrets.
  envDir: CLIENT,
  plugins: [react(), serviceWorker(), firstLoadReport()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    rolldownOptions: {
      input: {
        app: path.join(CLIENT, 'index.html'),
        'media-test': path.join(CLIENT, 'media-test.html'),
      },
    },
  },
  server: command === 'serve' ? devServer() : {},
}));

/**
 * The dev server proxies the API and socket.io to the real server, on the port it listens on: `PORT`, as for the
 * server, with the server's default. The client's build never imports the server's code or configuration.
 */
function devServer(): { proxy: Record<string, { target: string; ws?: boolean }> } {
  const target = `http://127.0.0.1:${process.env.PORT || '3000'}`;
  return { proxy: { '/api': { target }, '/socket.io': { target, ws: true } } };
}

interface WebManifest {
  icons: { src: string }[];
}

/**
 * Emits sw.js: src/sw/sw.ts without its types, with the shell (the app's page, the assets that page loads, the
 * manifest and icons) and a cache name that is a digest of all of it and of the worker. Any change to the shell
 * changes sw.js, so browsers pick up the new worker, which drops the old cache.
 */
function serviceWorker(): Plugin {
  return {
    name: 'ucc-service-worker',
    apply: 'build',
    // After Vite's HTML plugin has written index.html into the bundle.
    enforce: 'post',
    async generateBundle(_options, bundle) {
      const page = bundle['index.html'];
      if (page?.type !== 'asset') return this.error('index.html is not in the bundle');
      const html = String(page.source);
      const assets = [...html.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
      const manifestText = await readFile(path.join(CLIENT, 'public', 'manifest.webmanifest'), 'utf8');
      const manifest = JSON.parse(manifestText) as WebManifest;
      const statics = [
        '/manifest.webmanifest',
        ...manifest.icons.map((icon) => icon.src),
        '/icons/apple-touch-icon.png',
      ];
      const source = await readFile(path.join(CLIENT, 'src', 'sw', 'sw.ts'), 'utf8');
      // The worker's own code counts too: a new worker starts from a clean cache.
      const digest = createHash('sha256').update(source).update(html);
      for (const file of statics) digest.update(await readFile(path.join(CLIENT, 'public', file)));
      const shell = ['/index.html', ...new Set(assets), ...new Set(statics)];

      const { code } = await transformWithOxc(source, 'sw.ts', { lang: 'ts' });
      const values: Record<string, string> = {
        __SHELL__: JSON.stringify(shell),
        __CACHE__: JSON.stringify(`ucc-shell-${digest.digest('hex').slice(0, 16)}`),
      };
      let worker = code;
      for (const [name, value] of Object.entries(values)) {
        const pattern = new RegExp(`\\b${name}\\b`, 'g');
        if (!pattern.test(worker)) return this.error(`sw.ts no longer reads ${name}`);
        worker = worker.replace(pattern, value);
      }
      this.emitFile({ type: 'asset', fileName: 'sw.js', source: worker });
    },
  };
}

/** Sizes of a set of built files: as written, and gzipped (what a compressing server or proxy would send). */
export interface Sizes {
  files: string[];
  bytes: number;
  gzipBytes: number;
}

/** Per page (entry): what it loads before it shows anything, and the chunks it may load later. */
export interface FirstLoad {
  entry: string;
  js: Sizes;
  css: Sizes;
  lazy: Sizes[];
}

/**
 * Next to Vite's per-file table: what each page loads before it shows anything (its entry and the chunks that
 * entry imports statically, plus their CSS), and the chunks it loads lazily, with gzip sizes. Printed, and written
 * as JSON to dist/.vite/first-load.json (a dot folder, which the server does not serve) for bench:client.
 */
function firstLoadReport(): Plugin {
  let logger: Logger | undefined;
  return {
    name: 'ucc-first-load-report',
    apply: 'build',
    configResolved(config) {
      logger = config.logger;
    },
    async writeBundle(options, bundle) {
      const content = (file: string): string | Uint8Array => {
        const out = bundle[file];
        if (!out) return '';
        return out.type === 'chunk' ? out.code : out.source;
      };
      const sizes = (files: Iterable<string>): Sizes => {
        const list = [...files];
        let bytes = 0;
        let gzipBytes = 0;
        for (const file of list) {
          bytes += Buffer.byteLength(content(file));
          gzipBytes += gzipSync(content(file)).length;
        }
        return { files: list, bytes, gzipBytes };
      };
      const pages: FirstLoad[] = [];
      for (const entry of Object.values(bundle)) {
        if (entry.type !== 'chunk' || !entry.isEntry) continue;
        const js: string[] = [];
        const css = new Set<string>();
        const lazy = new Set<string>();
        const visit = (file: string): void => {
          const chunk = bundle[file];
          if (chunk?.type !== 'chunk' || js.includes(file)) return;
          js.push(file);
          for (const imported of chunk.viteMetadata?.importedCss ?? []) css.add(imported);
          for (const imported of chunk.dynamicImports) lazy.add(imported);
          for (const imported of chunk.imports) visit(imported);
        };
        visit(entry.fileName);
        pages.push({
          entry: entry.name,
          js: sizes(js),
          css: sizes(css),
          lazy: [...lazy].filter((file) => !js.includes(file)).map((file) => sizes([file])),
        });
      }
      const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
      const size = (s: Sizes): string => `${kib(s.bytes)} (gzip ${kib(s.gzipBytes)})`;
      const lines: string[] = [];
      for (const page of pages) {
        lines.push(`${page.entry}: first load JS ${size(page.js)}, CSS ${size(page.css)}`);
        for (const chunk of page.lazy) lines.push(`  lazy ${chunk.files.join()} ${size(chunk)}`);
      }
      logger?.info(lines.join('\n'));
      const dir = path.join(options.dir ?? path.join(CLIENT, 'dist'), '.vite');
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'first-load.json'), `${JSON.stringify(pages, null, 2)}\n`);
    },
  };
}
