import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

/** A self-signed certificate for localhost and 127.0.0.2 (openssl, as a customer would make a test one). */
export async function selfSigned(cert: string, key: string): Promise<void> {
  const child = spawn(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'],
      ...['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:127.0.0.2', '-keyout', key, '-out', cert],
    ],
    { stdio: 'ignore' },
  );
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0, 'openssl req');
}

export interface TlsFront {
  port: number;
  /** TLS connections it accepted. */
  accepted: () => number;
  close: () => Promise<void>;
}

/**
 * A TLS front that pipes each connection, raw, to a plain TCP port on loopback (stunnel's job; the "TLS front for
 * wss://" of an edge that terminates no TLS itself).
 */
export async function tlsPipe(targetPort: number, pem: { cert: string; key: string }): Promise<TlsFront> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server = createTlsServer(
    { cert: await readFile(pem.cert), key: await readFile(pem.key) },
    (client) => {
      accepted++;
      const upstream = connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    },
  );
  return listening(server, () => accepted, sockets);
}

/**
 * An HTTPS reverse proxy in front of the app (what a customer's nginx or Caddy does): TLS ends here, requests and
 * WebSocket upgrades go on over HTTP with `X-Forwarded-Proto: https`, which the app trusts from loopback.
 */
export async function httpsFront(targetPort: number, pem: { cert: string; key: string }): Promise<TlsFront> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server = createHttpsServer({ cert: await readFile(pem.cert), key: await readFile(pem.key) });
  server.on('secureConnection', () => accepted++);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const out = httpRequest(
      {
        host: '127.0.0.1',
        port: targetPort,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'x-forwarded-proto': 'https' },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  server.on('upgrade', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const upstream = connect(targetPort, '127.0.0.1', () => {
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      lines.push('X-Forwarded-Proto: https');
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return listening(server, () => accepted, sockets);
}

async function listening(
  server: {
    listen: (port: number, host: string) => unknown;
    close: (cb: () => void) => unknown;
    address: () => unknown;
  },
  accepted: () => number,
  sockets: Set<Socket>,
): Promise<TlsFront> {
  await new Promise<void>((resolve) => {
    (server as unknown as NodeJS.EventEmitter).once('listening', resolve);
    server.listen(0, '127.0.0.1');
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
