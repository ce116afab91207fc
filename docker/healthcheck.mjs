// The image's HEALTHCHECK: healthy while GET /readyz answers 200 (every probe passed; 503 names the failing one).
// It asks the server where it listens: HOST and PORT as the server reads them, a wildcard address as loopback.
const host =
  process.env.HOST && !['0.0.0.0', '::'].includes(process.env.HOST) ? process.env.HOST : '127.0.0.1';
const url = `http://${host.includes(':') ? `[${host}]` : host}:${process.env.PORT || '3000'}/readyz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4_000) });
  if (!res.ok) process.stderr.write(`${res.status} ${(await res.text()).slice(0, 300)}\n`);
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  process.stderr.write(`${url}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
