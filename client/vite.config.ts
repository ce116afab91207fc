// The browser client's build (npm run build:client) and dev server (npm run dev:client). Two pages from client/:
// the web app (index.html, React) and the media test page (media-test.html). Built into client/dist with hashed
// assets under assets/ (the meeting room, loaded with React.lazy, is a chunk of its own); client/public is copied
// as it is.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Logger, type Plugin } from 'vite';

const CLIENT = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig(async ({ command }) => ({
  root: CLIENT,
  // Only client/.env* if anyone adds one: the server's .env at the repo root holds secrets.
  envDir: CLIENT,
  plugins: [react(), firstLoadReport()],
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
  server: command === 'serve' ? await devServer() : {},
}));

/** The dev server proxies the API and socket.io to the real server, on the port its configuration gives. */
async function devServer(): Promise<{ proxy: Record<string, { target: string; ws?: boolean }> }> {
  // Imported only here: a build must not depend on the server's environment being valid.
  const { loadConfig } = await import('../server/config.js');
  const target = `http://127.0.0.1:${loadConfig().http.port}`;
  return { proxy: { '/api': { target }, '/socket.io': { target, ws: true } } };
}

/**
 * After Vite's per-file table: what each page loads before it shows anything (its entry and the chunks that
 * entry imports statically, plus their CSS), and the chunks it loads lazily, with gzip sizes as served.
 */
function firstLoadReport(): Plugin {
  let logger: Logger | undefined;
  return {
    name: 'ucc-first-load-report',
    apply: 'build',
    configResolved(config) {
      logger = config.logger;
    },
    writeBundle(_options, bundle) {
      const content = (file: string): string | Uint8Array => {
        const out = bundle[file];
        if (!out) return '';
        return out.type === 'chunk' ? out.code : out.source;
      };
      const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
      const size = (files: Iterable<string>): string => {
        let raw = 0;
        let gzip = 0;
        for (const file of files) {
          raw += Buffer.byteLength(content(file));
          gzip += gzipSync(content(file)).length;
        }
        return `${kib(raw)} (gzip ${kib(gzip)})`;
      };
      const lines: string[] = [];
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
        lines.push(`${entry.name}: first load JS ${size(js)}, CSS ${size(css)}`);
        for (const file of lazy) if (!js.includes(file)) lines.push(`  lazy ${file} ${size([file])}`);
      }
      logger?.info(lines.join('\n'));
    },
  };
}
