// The service worker (served as /sw.js): the app shell works offline, live data never comes from a cache.
// A classic script with no imports. client/vite.config.ts compiles it and replaces __SHELL__ and __CACHE__
// with this build's shell files and a cache name derived from them, so every build that changes the shell
// changes sw.js, and browsers install the new worker.

declare const __SHELL__: readonly string[];
declare const __CACHE__: string;

const sw = self as unknown as ServiceWorkerGlobalScope;
const SHELL: readonly string[] = __SHELL__;
const CACHE: string = __CACHE__;
const CACHE_PREFIX = 'ucc-shell-';
const PAGE = '/index.html';
/** The API, signaling and the Matrix bridge: left to the browser, as if there were no worker. */
const LIVE = ['/api/', '/socket.io/', '/_matrix/'];

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // Past the HTTP cache: the page and its assets must come from one and the same build.
      await cache.addAll(SHELL.map((url) => new Request(url, { cache: 'reload' })));
      // Safe to take over at once: pages are network-first and assets have hashed names.
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(CACHE_PREFIX) && name !== CACHE) await caches.delete(name);
      }
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== sw.location.origin) return;
  if (LIVE.some((prefix) => url.pathname.startsWith(prefix))) return;
  if (request.mode === 'navigate') {
    // The network first, so a new build's page is seen at once; the cached page only when offline, and only
    // for the app's own routes (not for a file such as /media-test.html).
    const appRoute = url.pathname === PAGE || !/\.\w+$/.test(url.pathname);
    event.respondWith(networkFirst(request, appRoute ? PAGE : undefined));
  } else if (url.pathname.startsWith('/assets/')) {
    event.respondWith(cacheFirst(event));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(networkFirst(request, url.pathname));
  }
});

async function networkFirst(request: Request, fallback: string | undefined): Promise<Response> {
  try {
    return await fetch(request);
  } catch (err) {
    const cached = fallback === undefined ? undefined : await caches.match(fallback, { cacheName: CACHE });
    if (cached) return cached;
    throw err;
  }
}

/** Hashed names never change content: a copy, once fetched, is good for as long as the build lives. */
async function cacheFirst(event: FetchEvent): Promise<Response> {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(event.request);
  if (cached) return cached;
  const response = await fetch(event.request);
  // Keeps what the shell did not list (the lazily loaded room, say); source maps are for developers only.
  if (response.ok && !event.request.url.endsWith('.map')) {
    event.waitUntil(cache.put(event.request, response.clone()));
  }
  return response;
}
