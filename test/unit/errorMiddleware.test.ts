import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import { pino } from 'pino';
import { ERROR_CODES, type ErrorResponse } from '../../shared/errors.js';
import { checkJsonDepth, jsonBody } from '../../server/http/bodyParsers.js';
import { errorMiddleware } from '../../server/http/errorMiddleware.js';

/** An app with one JSON route and one that fails with our own bug, logging into `lines`. */
async function withApp(
  run: (baseUrl: string, lines: { level: number; msg: string }[]) => Promise<void>,
): Promise<void> {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  const app = express();
  app.post('/json', jsonBody({ limitBytes: 1024, maxDepth: 8 }), (req, res) => {
    res.json({ got: req.body as unknown });
  });
  app.get('/bug', () => {
    throw new TypeError('cannot read properties of undefined');
  });
  app.get('/p/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.use(errorMiddleware(pino({ level: 'debug' }, sink)));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, lines);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

const ERROR_LEVEL = 50;

describe('errorMiddleware', () => {
  it("answers the client's mistakes with 4xx in the error shape and logs none of them as errors", async () => {
    await withApp(async (baseUrl, lines) => {
      const cases: [string, RequestInit, number, string][] = [
        [
          '/json',
          { method: 'POST', body: '{"a":', headers: { 'Content-Type': 'application/json' } },
          400,
          'VALIDATION_FAILED',
        ],
        [
          '/json',
          { method: 'POST', body: 'x'.repeat(2000), headers: { 'Content-Type': 'application/json' } },
          413,
          'PAYLOAD_TOO_LARGE',
        ],
        [
          '/json',
          { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json; charset=koi8-r' } },
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        ],
        [
          '/json',
          {
            method: 'POST',
            body: '{}',
            headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'snappy' },
          },
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        ],
        [
          '/json',
          {
            method: 'POST',
            body: 'not gzip',
            headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
          },
          400,
          'VALIDATION_FAILED',
        ],
        [
          '/json',
          {
            method: 'POST',
            body: '['.repeat(9) + ']'.repeat(9),
            headers: { 'Content-Type': 'application/json' },
          },
          400,
          'VALIDATION_FAILED',
        ],
        [
          '/json',
          { method: 'POST', body: '{"__proto__":{"x":1}}', headers: { 'Content-Type': 'application/json' } },
          400,
          'VALIDATION_FAILED',
        ],
        [
          '/json',
          { method: 'POST', body: '{}', headers: { 'Content-Type': 'text/plain' } },
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        ],
        ['/p/%E0%A4%A', { method: 'GET' }, 400, 'VALIDATION_FAILED'],
      ];
      for (const [path, init, status, code] of cases) {
        const res = await fetch(`${baseUrl}${path}`, init);
        const body = (await res.json()) as ErrorResponse;
        assert.equal(res.status, status, `${path} ${JSON.stringify(init.headers)}`);
        assert.equal(body.error.code, code);
        assert.ok(ERROR_CODES.includes(body.error.code));
      }
      assert.deepEqual(
        lines.filter((l) => l.level >= ERROR_LEVEL),
        [],
      );
    });
  });

  it('answers a bug of ours with 500 INTERNAL, revealing nothing, and logs it as an error', async () => {
    await withApp(async (baseUrl, lines) => {
      const res = await fetch(`${baseUrl}/bug`);
      assert.equal(res.status, 500);
      const body = (await res.json()) as ErrorResponse;
      assert.equal(body.error.code, 'INTERNAL');
      assert.doesNotMatch(body.error.message, /undefined/);
      assert.equal(lines.filter((l) => l.level >= ERROR_LEVEL).length, 1);
    });
  });

  it('passes JSON nested up to the limit', async () => {
    await withApp(async (baseUrl) => {
      const res = await fetch(`${baseUrl}/json`, {
        method: 'POST',
        body: '['.repeat(8) + ']'.repeat(8),
        headers: { 'Content-Type': 'application/json' },
      });
      assert.equal(res.status, 200);
    });
  });
});

describe('checkJsonDepth', () => {
  const depthOk = (json: string, max: number): boolean => {
    try {
      checkJsonDepth(Buffer.from(json), max);
      return true;
    } catch {
      return false;
    }
  };

  it('counts objects and arrays, not brackets inside strings', () => {
    assert.equal(depthOk('{"a":[{"b":1}]}', 3), true);
    assert.equal(depthOk('{"a":[{"b":1}]}', 2), false);
    assert.equal(depthOk('{"a":"[[[[[[[[[[[[[[[["}', 1), true);
    assert.equal(depthOk('{"a":"\\"[[[[["}', 1), true);
    assert.equal(depthOk('"[[[[[["', 0), true);
    assert.equal(depthOk('['.repeat(1_000_000), 32), false);
  });
});
