import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { RequestHandler, Router } from 'express';
import { restContract } from '../../shared/rest/contract.js';
import type { RouteDef } from '../../shared/rest/route.js';
import { authRouter } from '../../server/auth/authRouter.js';
import { chatRouter } from '../../server/chat/chatRouter.js';
import { categoriesRouter, contactsRouter, phoneSearchRouter } from '../../server/contacts/contactsRouter.js';
import { directoryRouter } from '../../server/directory/directoryRouter.js';
import { meRouter } from '../../server/directory/meRouter.js';
import { guestRouter, meetingsRouter } from '../../server/meetings/meetingsRouter.js';
import { presenceRouter } from '../../server/presence/presenceRouter.js';
import { queuesRouter } from '../../server/telephony/queuesRouter.js';
import { callsRouter, telephonyRouter } from '../../server/telephony/telephonyRouter.js';
import { testConfig } from '../harness/testStack.js';
import { OPENAPI_FILE, openApiText } from '../../scripts/openapi.js';
import { RateLimits } from '../../server/util/RateLimits.js';

const routes: RouteDef[] = (Object.values(restContract) as Record<string, RouteDef>[]).flatMap((group) =>
  Object.values(group),
);

/** The routes each router declares, as `METHOD mount+path`: the services are never called, so stubs do. */
function declared(): Set<string> {
  const pass: RequestHandler = (_req, _res, next) => next();
  const body = { json: pass, publicJson: pass, bulkJson: pass, csv: pass };
  const config = testConfig('/nonexistent');
  // The handlers are not run: the routers only need their dependencies to exist.
  const stub = {} as never;
  const mounted: [string, Router][] = [
    ['/api/auth', authRouter(stub, config, body, RateLimits.inMemory())],
    ['/api/me', meRouter(stub, stub, body)],
    ['/api/directory', directoryRouter(stub, body)],
    ['/api/meetings', meetingsRouter(stub, body)],
    ['/api/guest', guestRouter(stub, config, body, RateLimits.inMemory())],
    ['/api/chat', chatRouter(stub, { maxUploadBytes: 1, body })],
    [
      '/api/contacts',
      contactsRouter({ contacts: stub, imports: stub, body, importMaxBytes: 1, imageMaxBytes: 1 }),
    ],
    ['/api/categories', categoriesRouter(stub, body)],
    ['/api/search', phoneSearchRouter(stub)],
    ['/api/calls', callsRouter(stub, body)],
    ['/api/telephony', telephonyRouter(stub)],
    ['/api/queues', queuesRouter(stub, body)],
    ['/api/presence', presenceRouter(stub)],
  ];
  const found = new Set<string>();
  for (const [mount, router] of mounted) {
    for (const layer of router.stack) {
      const route = layer.route as { path: string; methods: Record<string, boolean> } | undefined;
      if (!route) continue;
      for (const method of Object.keys(route.methods)) found.add(`${method} ${mount}${route.path}`);
    }
  }
  return found;
}

describe('the REST contract', () => {
  it('is what the routers declare: every contract route is mounted, and no router route is outside it', () => {
    const contract = new Set(
      routes.filter((r) => r.mount !== '/api').map((r) => `${r.method} ${r.mount}${r.path}`),
    );
    assert.deepEqual([...declared()].sort(), [...contract].sort());
  });

  it('lists the statuses its inputs and guards can cause on every route', () => {
    for (const def of routes) {
      const name = `${def.method} ${def.mount}${def.path}`;
      const errors = new Set<number>(def.errors);
      if (def.auth !== 'public') {
        for (const status of [401, 403, 503]) assert.ok(errors.has(status), `${name} lacks ${status}`);
      }
      if (def.params || def.query || def.body) assert.ok(errors.has(400), `${name} lacks 400`);
      if (def.params) assert.ok(errors.has(404), `${name} lacks 404`);
      if (def.body) {
        for (const status of [413, 415]) assert.ok(errors.has(status), `${name} lacks ${status}`);
      }
    }
  });

  it('is checked in as docs/openapi.json, as generated (npm run openapi rewrites it)', () => {
    assert.equal(readFileSync(OPENAPI_FILE, 'utf8'), openApiText(), 'run `npm run openapi`');
  });
});
