import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Method } from 'matrix-js-sdk';
import { logger as sdkGlobalLogger } from 'matrix-js-sdk/lib/logger.js';
import { pino } from 'pino';
import { z } from 'zod';
import { MatrixClients } from '../../server/chat/matrix/MatrixClients.js';
import { routeSdkLogs } from '../../server/chat/matrix/sdkLogger.js';

interface Line {
  level: number;
  msg: string;
}

const PINO_DEBUG = 20;

/** A pino logger at debug whose lines are kept. */
function capturingLogger(): { logger: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Line);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

const CONSOLE_METHODS = ['log', 'debug', 'info', 'warn', 'error', 'trace'] as const;

/** Runs `body` with the console and stdout watched: what would have been printed is returned instead. */
async function watchingOutput(body: () => Promise<void> | void): Promise<string[]> {
  const printed: string[] = [];
  const saved = CONSOLE_METHODS.map((m) => [m, Reflect.get(console, m) as unknown] as const);
  const write = process.stdout.write.bind(process.stdout);
  for (const m of CONSOLE_METHODS) {
    Reflect.set(
      console,
      m,
      (...args: unknown[]) => void printed.push(`console.${m}: ${args.map(String).join(' ')}`),
    );
  }
  process.stdout.write = (chunk: string | Uint8Array) => {
    printed.push(`stdout: ${String(chunk)}`);
    return true;
  };
  try {
    await body();
  } finally {
    for (const [m, fn] of saved) Reflect.set(console, m, fn);
    process.stdout.write = write;
  }
  return printed;
}

describe('matrix-js-sdk logs (server/chat/matrix/sdkLogger.ts)', () => {
  let server: Server | undefined;

  afterEach(async () => {
    if (server?.listening) {
      server.close();
      await once(server, 'close');
    }
  });

  it("sends the SDK's own logger to pino at debug, not to the console", async () => {
    const { logger, lines } = capturingLogger();
    const printed = await watchingOutput(() => {
      routeSdkLogs(logger);
      sdkGlobalLogger.warn('sdk warning sentinel');
      sdkGlobalLogger.getChild('[child]').info('sdk child sentinel');
    });
    assert.deepEqual(printed, []);
    const warning = lines.find((l) => l.msg.includes('sdk warning sentinel'));
    const child = lines.find((l) => l.msg.includes('sdk child sentinel'));
    assert.equal(warning?.level, PINO_DEBUG);
    assert.equal(child?.level, PINO_DEBUG);
  });

  it('sends a client request\'s "FetchHttpApi: -->" lines to pino at debug, not to stdout', async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"user_id":"@ucc-bridge:test"}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const { logger, lines } = capturingLogger();
    const clients = new MatrixClients({
      endpoint: {
        homeserverUrl: `http://127.0.0.1:${port}`,
        serverName: 'test',
        asToken: 'as',
        hsToken: 'hs',
      },
      botMxid: '@ucc-bridge:test',
      logger,
    });
    let answer: unknown;
    const printed = await watchingOutput(async () => {
      answer = await clients.request(
        undefined,
        Method.Get,
        '/account/whoami',
        z.looseObject({ user_id: z.string() }),
      );
    });
    clients.close();
    assert.deepEqual(answer, { user_id: '@ucc-bridge:test' });
    assert.deepEqual(printed, []);
    const request = lines.find((l) => l.msg.includes('FetchHttpApi: --> GET'));
    assert.equal(request?.level, PINO_DEBUG);
    // The token travels in the Authorization header, never in a logged URL.
    assert.ok(lines.every((l) => !l.msg.includes('access_token')));
  });
});
