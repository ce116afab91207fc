import assert from 'node:assert/strict';
import { ERROR_CODES } from '../../shared/errors.js';
import { startServer, type ServerFixture } from '../harness/serverFixture.js';

interface Attempt {
  label: string;
  method: string;
  path: string;
  type?: string;
  body?: string | Buffer;
}

const ID = '0123456789abcdef01234567';

/** The Rubrica's routes, each with the ids and queries a client could get wrong. */
const PATHS: { method: string; path: string }[] = [
  { method: 'GET', path: '/api/contacts' },
  { method: 'POST', path: '/api/contacts' },
  { method: 'POST', path: '/api/contacts/delete' },
  { method: 'GET', path: '/api/contacts/export?format=vcard' },
  { method: 'GET', path: '/api/contacts/sample.csv' },
  { method: 'POST', path: '/api/contacts/import?format=csv' },
  { method: 'GET', path: `/api/contacts/${ID}` },
  { method: 'PATCH', path: `/api/contacts/${ID}` },
  { method: 'DELETE', path: `/api/contacts/${ID}` },
  { method: 'PUT', path: `/api/contacts/${ID}/image` },
  { method: 'GET', path: `/api/contacts/${ID}/image` },
  { method: 'DELETE', path: `/api/contacts/${ID}/image` },
  { method: 'GET', path: '/api/categories' },
  { method: 'POST', path: '/api/categories' },
  { method: 'POST', path: '/api/categories/delete' },
  { method: 'GET', path: `/api/categories/${ID}` },
  { method: 'PATCH', path: `/api/categories/${ID}` },
  { method: 'DELETE', path: `/api/categories/${ID}` },
  { method: 'GET', path: '/api/search' },
];

function attempts(): Attempt[] {
  const out: Attempt[] = [];
  const bodies: [string, string | undefined, string | Buffer][] = [
    ['operators', 'application/json', '{"lastName":{"$gt":""},"ids":{"$ne":null},"name":{"$where":"1"}}'],
    ['__proto__', 'application/json', '{"__proto__":{"admin":true}}'],
    ['deep array', 'application/json', '['.repeat(5_000)],
    [
      'wrong types',
      'application/json',
      '{"lastName":1,"numbers":"x","memberships":[{"userId":"../x"}],"ids":[1]}',
    ],
    [
      'numbers abuse',
      'application/json',
      JSON.stringify({ lastName: 'A', numbers: Array(50).fill({ type: 'x', number: '=1' }) }),
    ],
    [
      'bad speed dial',
      'application/json',
      JSON.stringify({ lastName: 'A', numbers: [{ type: 'work', number: '1', speedDial: '$1' }] }),
    ],
    ['not json', 'application/json', '{"a":'],
    ['csv garbage', 'text/csv', Buffer.from([0, 1, 2, 3, 255, 254])],
    ['vcard fragment', 'text/vcard', 'BEGIN:VCARD\r\nN;;;;=:\r\n'],
    ['no type', undefined, 'hello'],
    ['image garbage', 'image/png', Buffer.from('GIF89a....')],
  ];
  for (const { method, path } of PATHS) {
    for (const [label, type, body] of bodies) {
      out.push({ label: `${method} ${path}: ${label}`, method, path, ...(type ? { type } : {}), body });
    }
    const queries = [
      'q=' + encodeURIComponent('(.*)+$'),
      'q=' + 'a'.repeat(5_000),
      'category=../../etc',
      'category[$ne]=x',
      'personal=maybe',
      'sort=__proto__',
      'page=-1&pageSize=1e9',
      'format=excel',
      'ids=' + encodeURIComponent('x,y,' + ID),
      'dryRun=yes',
      'limit=0',
    ];
    for (const q of queries) {
      const sep = path.includes('?') ? '&' : '?';
      out.push({ label: `${method} ${path}: ${q.slice(0, 30)}`, method, path: `${path}${sep}${q}` });
    }
    for (const bad of ['none', 'nope', '%00', '0123456789abcdef0123456z']) {
      if (!path.includes(ID)) continue;
      out.push({ label: `${method} ${path}: id ${bad}`, method, path: path.replace(ID, bad) });
    }
  }
  return out;
}

describe('Rubrica: malformed requests', () => {
  let fx: ServerFixture;

  before(async () => {
    fx = await startServer();
  });

  after(async () => {
    await fx.close();
  });

  it('answers every malformed Rubrica request with a 4xx in the documented shape, never a 5xx', async function () {
    // About 2 000 requests, one after the other, on a shared machine.
    this.timeout(240_000);
    const admin = await fx.createUser({ role: 'admin' });
    const user = await fx.createUser();
    const failures: string[] = [];
    let answered = 0;
    for (const token of [admin.token, user.token, fx.guestToken(), undefined]) {
      for (const a of attempts()) {
        const headers: Record<string, string> = {};
        if (token) headers.Authorization = `Bearer ${token}`;
        if (a.type) headers['Content-Type'] = a.type;
        const init: RequestInit = { method: a.method, headers };
        if (a.body !== undefined && a.method !== 'GET') {
          init.body = typeof a.body === 'string' ? a.body : new Uint8Array(a.body);
        }
        const res = await fetch(`${fx.baseUrl}${a.path}`, init);
        const text = await res.text();
        answered++;
        if (res.status >= 500) failures.push(`${a.label}: ${res.status} ${text.slice(0, 200)}`);
        if (res.status >= 400) {
          let code: unknown;
          try {
            code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
          } catch {
            code = undefined;
          }
          if (!(ERROR_CODES as readonly unknown[]).includes(code))
            failures.push(`${a.label}: body ${text.slice(0, 200)}`);
        }
      }
    }
    assert.deepEqual(failures, []);
    assert.ok(answered > 1_000, String(answered));
    const health = await fetch(`${fx.baseUrl}/healthz`);
    assert.equal(health.status, 200);
  });
});
