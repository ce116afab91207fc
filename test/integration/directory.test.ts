import assert from 'node:assert/strict';
import type { Page, PublicUser, SyncResult } from '../../shared/schemas/directory.js';
import { verifyPassword } from '../../server/util/passwords.js';
import { DirectoryEvents } from '../../server/directory/DirectoryEvents.js';
import { DirectoryService } from '../../server/directory/DirectoryService.js';
import { directoryRoutes } from '../../shared/rest/contract.js';
import { expectStatus, restClient } from '../harness/restClient.js';
import { startServer, type ServerFixture } from '../harness/serverFixture.js';
import { testStack } from '../harness/testStack.js';

interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; message: string }[] };
}

type Res = Awaited<ReturnType<ServerFixture['api']>>;

function assertValidationFailed(res: Res, label = ''): void {
  assert.equal(res.status, 400, `${label} ${JSON.stringify(res.body)}`);
  assert.equal((res.body as ErrorBody).error.code, 'VALIDATION_FAILED', label);
}

/** A directory service of the test's own on the fixture's database, to seed users and to watch events. */
function serviceFor(fx: ServerFixture, events = new DirectoryEvents()): DirectoryService {
  return new DirectoryService({ users: fx.users, events, logger: testStack().logger });
}

function person(extension: string, firstName: string, lastName: string) {
  return { extension, firstName, lastName, password: 'password-123', role: 'user', plan: 'basic' } as const;
}

describe('directory admin API', () => {
  let fx: ServerFixture;
  let admin: string;

  beforeEach(async () => {
    fx = await startServer();
    admin = (await fx.createUser({ role: 'admin', plan: 'pro' })).token;
  });

  afterEach(async () => {
    await fx.close();
  });

  // Through the typed client: the answers are checked against the contract (a strict PublicUser: no password
  // hash can slip in) and typed, with no casts.
  it('creates a user with 201 and refuses a second one on the same extension with 409 CONFLICT', async () => {
    const call = restClient(fx.baseUrl);
    const created = await call(
      directoryRoutes.createUser,
      {
        body: {
          extension: '700',
          firstName: 'Nicolò',
          lastName: 'Esposito',
          email: 'Nico@Example.com',
          password: 'secret-123',
        },
      },
      { token: admin },
    );
    const user = expectStatus(created, 201).body;
    assert.equal(user.displayName, 'Esposito Nicolò');
    assert.equal(user.email, 'nico@example.com');
    assert.equal(user.role, 'user');
    assert.equal(user.plan, 'basic');
    assert.equal(user.disabled, false);
    const stored = await fx.users.findById(user.id).lean();
    assert.ok(stored && (await verifyPassword('secret-123', stored.passwordHash)));

    const again = await call(
      directoryRoutes.createUser,
      { body: { extension: '700', firstName: 'Other', lastName: 'Person', password: 'secret-123' } },
      { token: admin },
    );
    assert.equal(expectStatus(again, 409).body.error.code, 'CONFLICT');
    assert.equal(await fx.users.countDocuments({ extension: '700' }), 1);
  });

  it('renames a user, removes the email with null, and re-hashes a new password', async () => {
    const { id } = await serviceFor(fx).create({
      ...person('710', 'Mario', 'Rossi'),
      email: 'mario@example.com',
    });
    const before = await fx.users.findById(id).lean();

    const res = await fx.api('PATCH', `/api/directory/users/${id}`, {
      token: admin,
      body: { lastName: 'Bianchi', email: null, password: 'new-password-1', plan: 'pro' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const user = res.body as PublicUser;
    assert.equal(user.displayName, 'Bianchi Mario');
    assert.equal(user.plan, 'pro');
    assert.equal(user.email, undefined);

    const after = await fx.users.findById(id).lean();
    assert.ok(before && after);
    assert.equal(after.email, undefined);
    assert.notEqual(after.passwordHash, before.passwordHash);
    assert.ok(await verifyPassword('new-password-1', after.passwordHash));

    // The search follows the rename.
    const search = (q: string) => fx.api('GET', `/api/directory?q=${q}`, { token: admin });
    assert.deepEqual(
      ((await search('bianchi')).body as Page<PublicUser>).items.map((u) => u.id),
      [id],
    );
    assert.equal(((await search('rossi')).body as Page<PublicUser>).total, 0);
  });

  it('deletes a user with 204, after which the user is 404 everywhere', async () => {
    const { id } = await serviceFor(fx).create(person('720', 'Luca', 'Colombo'));
    const del = await fx.api('DELETE', `/api/directory/users/${id}`, { token: admin });
    assert.equal(del.status, 204);
    assert.equal(del.body, undefined);
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { firstName: 'X' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await fx.api(method, `/api/directory/users/${id}`, { token: admin, body });
      assert.equal(res.status, 404, method);
      assert.equal((res.body as ErrorBody).error.code, 'NOT_FOUND');
    }
  });

  it('keeps one active administrator: the last one cannot be deleted, demoted or disabled (409 CONFLICT)', async () => {
    const me = await fx.api('GET', '/api/me', { token: admin });
    const myId = (me.body as { id: string }).id;
    for (const [method, body] of [
      ['DELETE', undefined],
      ['PATCH', { role: 'user' }],
      ['PATCH', { disabled: true }],
    ] as const) {
      const res = await fx.api(method, `/api/directory/users/${myId}`, { token: admin, body });
      assert.equal(res.status, 409, `${method} ${JSON.stringify(body)}`);
      assert.equal((res.body as ErrorBody).error.code, 'CONFLICT');
    }
    // With a second administrator, the first may step down.
    const second = await serviceFor(fx).create({ ...person('721', 'Anna', 'Neri'), role: 'admin' });
    const demoted = await fx.api('PATCH', `/api/directory/users/${myId}`, {
      token: admin,
      body: { role: 'user' },
    });
    assert.equal(demoted.status, 200, JSON.stringify(demoted.body));
    const other = await fx.api('DELETE', `/api/directory/users/${second.id}`, { token: admin });
    assert.equal(other.status, 403, 'no longer an admin');
  });

  it('shows a disabled user to an admin by id', async () => {
    const { id } = await serviceFor(fx).create(person('730', 'Sofia', 'Ricci'));
    const patched = await fx.api('PATCH', `/api/directory/users/${id}`, {
      token: admin,
      body: { disabled: true },
    });
    assert.equal((patched.body as PublicUser).disabled, true);
    const res = await fx.api('GET', `/api/directory/users/${id}`, { token: admin });
    assert.equal(res.status, 200);
    assert.equal((res.body as PublicUser).disabled, true);
  });

  it('keeps user management to administrators: 401 without a token, 403 for a user', async () => {
    const basic = (await fx.createUser()).token;
    const body = person('740', 'Anna', 'Neri');
    assert.equal((await fx.api('POST', '/api/directory/users', { body })).status, 401);
    assert.equal((await fx.api('POST', '/api/directory/users', { token: basic, body })).status, 403);
    assert.equal(
      (await fx.api('PUT', '/api/directory/sync', { token: basic, body: { users: [] } })).status,
      403,
    );
    assert.equal(await fx.users.countDocuments({ extension: '740' }), 0);
  });
});

describe('colleague search', () => {
  let fx: ServerFixture;
  let token: string;

  const search = async (query: string): Promise<Page<PublicUser>> => {
    const res = await fx.api('GET', `/api/directory?${query}`, { token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    // The contract's schema, not a cast: an answer of another shape fails here.
    return directoryRoutes.search.success[200].parse(res.body);
  };
  const names = async (q: string): Promise<string[]> =>
    (await search(`q=${encodeURIComponent(q)}&pageSize=100`)).items.map((u) => u.displayName);

  beforeEach(async () => {
    fx = await startServer();
    // Any directory user may search: a basic one here. The fixture names it "User Test", extension 3xxx.
    token = (await fx.createUser({ firstName: 'Test', lastName: 'User' })).token;
    const directory = serviceFor(fx);
    for (const p of [
      person('200', 'Mario', 'Rossi'),
      person('201', 'Giulia', 'Bianchi'),
      person('202', 'Nicolò', 'Esposito'),
      person('203', 'Chiara', 'Romano'),
      person('210', 'Anna', 'Rossini'),
      person('230', 'Ugo', "D'Angelo"),
      person('231', 'Anna', 'De Luca'),
      person('250', 'Zoe', 'Ávila'),
    ]) {
      await directory.create(p);
    }
    const gone = await directory.create(person('205', 'Marco', 'Rossi'));
    await directory.update(gone.id, { disabled: true });
  });

  afterEach(async () => {
    await fx.close();
  });

  it('finds "Esposito Nicolò" by "nicolo", "NICOLÒ" and "espo", ignoring accents and case', async () => {
    assert.deepEqual(await names('nicolo'), ['Esposito Nicolò']);
    assert.deepEqual(await names('NICOLÒ'), ['Esposito Nicolò']);
    assert.deepEqual(await names('espo'), ['Esposito Nicolò']);
    assert.deepEqual(await names('avila'), ['Ávila Zoe']);
  });

  it('matches a last-name prefix whatever the case, and never shows disabled users', async () => {
    assert.deepEqual(await names('ROSSI'), ['Rossi Mario', 'Rossini Anna']);
    assert.deepEqual(await names('marco'), []);
  });

  it('matches an extension prefix', async () => {
    assert.deepEqual(await names('20'), [
      'Bianchi Giulia',
      'Esposito Nicolò',
      'Romano Chiara',
      'Rossi Mario',
    ]);
    assert.deepEqual(await names('202'), ['Esposito Nicolò']);
  });

  it('requires every word to match: "mario ro" is only Rossi Mario', async () => {
    assert.deepEqual(await names('mario ro'), ['Rossi Mario']);
    assert.deepEqual(await names('anna ro'), ['Rossini Anna']);
    assert.deepEqual(await names('anna zzz'), []);
  });

  it('finds names with apostrophes and spaces written either way', async () => {
    assert.deepEqual(await names("d'angelo"), ["D'Angelo Ugo"]);
    assert.deepEqual(await names('dangelo'), ["D'Angelo Ugo"]);
    assert.deepEqual(await names('deluca'), ['De Luca Anna']);
    assert.deepEqual(await names('de luca'), ['De Luca Anna']);
  });

  it('treats regex characters in the query as text', async () => {
    assert.deepEqual(await names('ro.*'), ['Romano Chiara', 'Rossi Mario', 'Rossini Anna']);
    assert.deepEqual(await names('(x'), []);
  });

  it('lists every active user for an empty query, by last name then first name, in pages', async () => {
    const expected = [
      'Ávila Zoe',
      'Bianchi Giulia',
      "D'Angelo Ugo",
      'De Luca Anna',
      'Esposito Nicolò',
      'Romano Chiara',
      'Rossi Mario',
      'Rossini Anna',
      'User Test',
    ];
    const all = await search('');
    assert.equal(all.total, expected.length);
    assert.equal(all.page, 1);
    assert.equal(all.pageSize, 20);
    assert.deepEqual(
      all.items.map((u) => u.displayName),
      expected,
    );

    const second = await search('pageSize=4&page=2');
    assert.deepEqual(
      { total: second.total, page: second.page, pageSize: second.pageSize },
      { total: 9, page: 2, pageSize: 4 },
    );
    assert.deepEqual(
      second.items.map((u) => u.displayName),
      expected.slice(4, 8),
    );
    const beyond = await search('pageSize=4&page=5');
    assert.deepEqual({ total: beyond.total, items: beyond.items }, { total: 9, items: [] });
  });

  it('finds users whose search keys are missing once init() has run', async () => {
    // As a writer that bypasses the model (an older version, a manual fix) would leave it.
    await fx.users.collection.insertOne({
      extension: '260',
      firstName: 'Niccolò',
      lastName: 'Galli',
      passwordHash: 'x',
      role: 'user',
      plan: 'basic',
      disabled: false,
    });
    assert.deepEqual(await names('galli'), []);
    await serviceFor(fx).init();
    assert.deepEqual(await names('niccolo'), ['Galli Niccolò']);
  });

  it('refuses anonymous callers with 401', async () => {
    const res = await fx.api('GET', '/api/directory?q=ro');
    assert.equal(res.status, 401);
  });
});

describe('PBX sync', () => {
  let fx: ServerFixture;
  let admin: string;
  let adminId: string;

  const sync = async (users: unknown[]): Promise<SyncResult> =>
    expectStatus(
      await restClient(fx.baseUrl)(directoryRoutes.sync, { body: { users } }, { token: admin }),
      200,
    ).body;
  const stateOf = async (extension: string) => fx.users.findOne({ extension }).lean();

  beforeEach(async () => {
    fx = await startServer();
    const a = await fx.createUser({ role: 'admin', plan: 'pro' });
    admin = a.token;
    adminId = a.id;
    const directory = serviceFor(fx);
    await directory.create({ ...person('400', 'Mario', 'Rossi'), email: 'mario@example.com' });
    await directory.create(person('401', 'Giulia', 'Bianchi'));
    await directory.create(person('402', 'Luca', 'Verdi'));
  });

  afterEach(async () => {
    await fx.close();
  });

  it('creates, updates and disables, and an identical second run changes nothing', async () => {
    const list = [
      { extension: '400', firstName: 'Mario', lastName: 'Rossi', email: 'Mario@Example.com' },
      { extension: '401', firstName: 'Giulia', lastName: 'Bianchi-Neri', plan: 'pro' },
      { extension: '403', firstName: 'Chiara', lastName: 'Romano' },
      {
        extension: '404',
        firstName: 'Sofia',
        lastName: 'Ricci',
        email: 'sofia@example.com',
        password: 'sofia-pass-1',
      },
    ];
    assert.deepEqual(await sync(list), { created: 2, updated: 1, disabled: 1, unchanged: 1, errors: [] });

    const giulia = await stateOf('401');
    assert.equal(giulia?.lastName, 'Bianchi-Neri');
    assert.equal(giulia?.plan, 'pro');
    assert.equal((await stateOf('402'))?.disabled, true, 'missing from the list: disabled');
    assert.ok(await stateOf('402'), 'disabled, never deleted');
    const sofia = await stateOf('404');
    assert.ok(sofia && (await verifyPassword('sofia-pass-1', sofia.passwordHash)));
    assert.equal(sofia.plan, 'basic');
    const chiara = await stateOf('403');
    assert.match(chiara?.passwordHash ?? '', /^scrypt\$/, 'a random password nobody knows');
    assert.equal((await fx.users.findById(adminId).lean())?.disabled, false, 'the admin is not in the list');

    assert.deepEqual(await sync(list), { created: 0, updated: 0, disabled: 0, unchanged: 4, errors: [] });

    // The new users are searchable at once.
    const res = await fx.api('GET', '/api/directory?q=ricci', { token: admin });
    assert.deepEqual(
      (res.body as Page<PublicUser>).items.map((u) => u.extension),
      ['404'],
    );
  });

  it('re-enables a disabled user found in the list and counts it as updated', async () => {
    await sync([person('400', 'Mario', 'Rossi'), person('401', 'Giulia', 'Bianchi')].map(pbxRow));
    assert.equal((await stateOf('402'))?.disabled, true);
    const again = await sync(
      [
        person('400', 'Mario', 'Rossi'),
        person('401', 'Giulia', 'Bianchi'),
        person('402', 'Luca', 'Verdi'),
      ].map(pbxRow),
    );
    assert.deepEqual(again, { created: 0, updated: 1, disabled: 0, unchanged: 2, errors: [] });
    assert.equal((await stateOf('402'))?.disabled, false);
  });

  it('reports bad rows by number, applies the good ones, and keeps users whose row was bad', async () => {
    const result = await sync([
      { extension: '405', firstName: 'Anna', lastName: 'Neri' },
      { extension: '400', firstName: '', lastName: 'Rossi' },
      { extension: '4x6', firstName: 'Bad', lastName: 'Extension' },
      'not an object',
      { extension: '405', firstName: 'Anna', lastName: 'Again' },
      { extension: 401, firstName: 'Giulia', lastName: 'Bianchi' },
      { extension: '407', firstName: 'Ugo', lastName: 'Galli', role: 'admin' },
    ]);
    assert.deepEqual(
      result.errors.map((e) => [e.row, e.extension]),
      [
        [2, '400'],
        [3, '4x6'],
        [4, undefined],
        [5, '405'],
        [6, '401'],
        [7, '407'],
      ],
    );
    assert.match(result.errors[0]?.message ?? '', /firstName/);
    assert.match(result.errors[3]?.message ?? '', /first in row 1/);
    assert.match(result.errors[5]?.message ?? '', /role/);
    // 405 created; 400 and 401 had bad rows, so they stay enabled; only 402 is missing altogether.
    assert.deepEqual(
      {
        created: result.created,
        updated: result.updated,
        disabled: result.disabled,
        unchanged: result.unchanged,
      },
      { created: 1, updated: 0, disabled: 1, unchanged: 0 },
    );
    assert.equal((await stateOf('405'))?.lastName, 'Neri');
    assert.equal((await stateOf('400'))?.disabled, false);
    assert.equal((await stateOf('401'))?.disabled, false);
    assert.equal((await stateOf('402'))?.disabled, true);
    assert.equal(await stateOf('407'), null);
  });

  it('never disables an administrator, even with an empty list', async () => {
    const result = await sync([]);
    assert.deepEqual(result, { created: 0, updated: 0, disabled: 3, unchanged: 0, errors: [] });
    assert.equal((await fx.users.findById(adminId).lean())?.disabled, false);
  });
});

function pbxRow(p: ReturnType<typeof person>) {
  return { extension: p.extension, firstName: p.firstName, lastName: p.lastName };
}

describe('CSV import', () => {
  let fx: ServerFixture;
  let admin: string;

  const importCsv = (csv: string): Promise<Res> =>
    fx.api('POST', '/api/directory/import', {
      token: admin,
      body: csv,
      headers: { 'Content-Type': 'text/csv' },
    });

  beforeEach(async () => {
    fx = await startServer();
    admin = (await fx.createUser({ role: 'admin', plan: 'pro' })).token;
  });

  afterEach(async () => {
    await fx.close();
  });

  it('imports the rows of a CSV with a header and reports the bad ones by row number', async () => {
    const csv = [
      'extension,firstName,lastName,email,plan,password',
      '600,Mario,Rossi,Mario@Example.com,pro,',
      '601,Giulia,Bianchi,,,giulia-pass-1',
      '6x2,Bad,Extension,,,',
      '603,Anna,,,,',
      '604,Too,Many,,,,extra',
      '605,Nicolò,"Esposito, jr"',
      '606,Chiara,Romano,not-an-email,,',
      ',,,,,',
      '',
    ].join('\r\n');
    const res = await importCsv(csv);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const result = res.body as SyncResult;
    assert.deepEqual(
      result.errors.map((e) => [e.row, e.extension]),
      [
        [3, '6x2'],
        [4, '603'],
        [5, '604'],
        [7, '606'],
      ],
    );
    assert.match(result.errors[1]?.message ?? '', /lastName/);
    assert.match(result.errors[2]?.message ?? '', /7 cells/);
    assert.match(result.errors[3]?.message ?? '', /email/);
    assert.deepEqual(
      {
        created: result.created,
        updated: result.updated,
        disabled: result.disabled,
        unchanged: result.unchanged,
      },
      { created: 3, updated: 0, disabled: 0, unchanged: 0 },
    );
    const mario = await fx.users.findOne({ extension: '600' }).lean();
    assert.equal(mario?.plan, 'pro');
    assert.equal(mario?.email, 'mario@example.com');
    const giulia = await fx.users.findOne({ extension: '601' }).lean();
    assert.ok(giulia && (await verifyPassword('giulia-pass-1', giulia.passwordHash)));
    assert.equal((await fx.users.findOne({ extension: '605' }).lean())?.lastName, 'Esposito, jr');

    const again = (await importCsv(csv)).body as SyncResult;
    assert.deepEqual([again.created, again.updated, again.disabled, again.unchanged], [0, 0, 0, 3]);
  });

  it('reads a semicolon-separated export with spelled-out headers', async () => {
    const res = await importCsv('Extension;First Name;Last Name\n610;Luca;Colombo\n611;Sofia;Ricci\n');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { created: 2, updated: 0, disabled: 0, unchanged: 0, errors: [] });
  });

  it('refuses a CSV it cannot read as a whole with 400 VALIDATION_FAILED, changing nothing', async () => {
    const before = await fx.users.countDocuments();
    const cases: [string, string, RegExp][] = [
      ['empty', '', /empty/],
      ['no header', '620,Mario,Rossi\n', /Unknown CSV column "620"/],
      ['unknown column', 'extension,firstName,lastName,phone\n620,Mario,Rossi,123\n', /phone/],
      ['missing column', 'extension,firstName\n620,Mario\n', /lastName/],
      ['repeated column', 'extension,firstName,lastName,lastName\n', /twice/],
      ['unclosed quote', 'extension,firstName,lastName\n620,"Mario,Rossi\n', /could not be parsed/],
    ];
    for (const [label, csv, message] of cases) {
      const res = await importCsv(csv);
      assertValidationFailed(res, label);
      assert.match((res.body as ErrorBody).error.message, message, label);
    }
    assert.equal(await fx.users.countDocuments(), before);
  });

  it('asks for a text/csv body when given JSON, with 415', async () => {
    const res = await fx.api('POST', '/api/directory/import', { token: admin, body: { users: [] } });
    assert.equal(res.status, 415);
    assert.equal((res.body as ErrorBody).error.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.match((res.body as ErrorBody).error.message, /text\/csv/);
  });
});

describe('directory events', () => {
  let fx: ServerFixture;
  let events: DirectoryEvents;
  let directory: DirectoryService;
  let seen: { event: string; extension: string; disabled: boolean; changed?: string[] }[];

  beforeEach(async () => {
    fx = await startServer();
    events = new DirectoryEvents();
    directory = serviceFor(fx, events);
    seen = [];
    events.on('user.created', (u) =>
      seen.push({ event: 'user.created', extension: u.extension, disabled: u.disabled }),
    );
    events.on('user.updated', (u, changed) =>
      seen.push({ event: 'user.updated', extension: u.extension, disabled: u.disabled, changed }),
    );
    events.on('user.disabled', (u) =>
      seen.push({ event: 'user.disabled', extension: u.extension, disabled: u.disabled }),
    );
    events.on('user.enabled', (u) =>
      seen.push({ event: 'user.enabled', extension: u.extension, disabled: u.disabled }),
    );
    events.on('user.deleted', (u) =>
      seen.push({ event: 'user.deleted', extension: u.extension, disabled: u.disabled }),
    );
  });

  afterEach(async () => {
    await fx.close();
  });

  it('emits exactly one event per change, and none for a change that changes nothing', async () => {
    const user = await directory.create(person('800', 'Mario', 'Rossi'));
    await directory.update(user.id, { firstName: 'Marco', lastName: 'Rossi' });
    await directory.update(user.id, { firstName: 'Marco' });
    await directory.update(user.id, { password: 'another-pass-1' });
    await directory.update(user.id, { disabled: true, plan: 'pro' });
    await directory.update(user.id, { disabled: false });
    await directory.remove(user.id);

    assert.deepEqual(seen, [
      { event: 'user.created', extension: '800', disabled: false },
      { event: 'user.updated', extension: '800', disabled: false, changed: ['firstName'] },
      { event: 'user.updated', extension: '800', disabled: false, changed: ['password'] },
      { event: 'user.disabled', extension: '800', disabled: true },
      { event: 'user.enabled', extension: '800', disabled: false },
      { event: 'user.deleted', extension: '800', disabled: false },
    ]);
  });

  it('never puts a password hash in an event', async () => {
    const payloads: unknown[] = [];
    events.on('user.updated', (...args) => payloads.push(args));
    const user = await directory.create(person('810', 'Anna', 'Neri'));
    await directory.update(user.id, { password: 'another-pass-1' });
    assert.equal(payloads.length, 1);
    assert.doesNotMatch(JSON.stringify(payloads), /scrypt|passwordHash|another-pass/);
  });

  it('announces what a sync did: created, updated with the changed fields, disabled, enabled', async () => {
    await directory.create(person('820', 'Luca', 'Verdi'));
    await directory.create(person('821', 'Sofia', 'Ricci'));
    seen = [];
    await directory.sync([
      { extension: '820', firstName: 'Luca', lastName: 'Verdi', plan: 'pro' },
      { extension: '822', firstName: 'Ugo', lastName: 'Galli' },
    ]);
    assert.deepEqual(seen, [
      { event: 'user.updated', extension: '820', disabled: false, changed: ['plan'] },
      { event: 'user.created', extension: '822', disabled: false },
      { event: 'user.disabled', extension: '821', disabled: true },
    ]);

    seen = [];
    await directory.sync([
      { extension: '820', firstName: 'Luca', lastName: 'Verdi' },
      { extension: '821', firstName: 'Sofia', lastName: 'Ricci' },
      { extension: '822', firstName: 'Ugo', lastName: 'Galli' },
    ]);
    assert.deepEqual(seen, [{ event: 'user.enabled', extension: '821', disabled: false }]);
  });

  it('keeps a change when a listener throws', async () => {
    events.on('user.created', () => {
      throw new Error('listener bug');
    });
    const user = await directory.create(person('830', 'Chiara', 'Romano'));
    assert.ok(await fx.users.exists({ _id: user.id }));
  });
});

describe('directory input validation', () => {
  let fx: ServerFixture;
  let admin: string;
  let targetId: string;

  beforeEach(async () => {
    fx = await startServer();
    admin = (await fx.createUser({ role: 'admin', plan: 'pro' })).token;
    targetId = (await fx.createUser()).id;
  });

  afterEach(async () => {
    await fx.close();
  });

  it('answers malformed ids, queries and bodies with 400 VALIDATION_FAILED, never 500', async () => {
    const cases: {
      label: string;
      method: string;
      path: string;
      body?: unknown;
      headers?: Record<string, string>;
    }[] = [
      { label: 'bad id', method: 'GET', path: '/api/directory/users/zzz' },
      { label: 'short id', method: 'DELETE', path: '/api/directory/users/123' },
      { label: 'page not a number', method: 'GET', path: '/api/directory?page=abc' },
      { label: 'page 0', method: 'GET', path: '/api/directory?page=0' },
      { label: 'pageSize too big', method: 'GET', path: '/api/directory?pageSize=101' },
      { label: 'q twice', method: 'GET', path: '/api/directory?q=a&q=b' },
      { label: 'unknown query', method: 'GET', path: '/api/directory?sort=name' },
      {
        label: 'non-JSON body',
        method: 'POST',
        path: '/api/directory/users',
        body: '{"extension":',
        headers: { 'Content-Type': 'application/json' },
      },
      {
        label: 'wrong types',
        method: 'POST',
        path: '/api/directory/users',
        body: { extension: 200, firstName: 'A', lastName: 'B', password: 'password-123' },
      },
      {
        label: 'unknown role',
        method: 'POST',
        path: '/api/directory/users',
        body: { ...person('900', 'A', 'B'), role: 'root' },
      },
      {
        label: 'unknown field',
        method: 'POST',
        path: '/api/directory/users',
        body: { ...person('900', 'A', 'B'), passwordHash: 'x' },
      },
      { label: 'empty patch', method: 'PATCH', path: `/api/directory/users/${targetId}`, body: {} },
      {
        label: 'patch extension',
        method: 'PATCH',
        path: `/api/directory/users/${targetId}`,
        body: { extension: '1' },
      },
      { label: 'sync without users', method: 'PUT', path: '/api/directory/sync', body: {} },
      { label: 'sync users not a list', method: 'PUT', path: '/api/directory/sync', body: { users: 'all' } },
      { label: 'sync without a body', method: 'PUT', path: '/api/directory/sync' },
    ];
    for (const c of cases) {
      const res = await fx.api(c.method, c.path, {
        token: admin,
        body: c.body,
        ...(c.headers ? { headers: c.headers } : {}),
      });
      assertValidationFailed(res, c.label);
    }
    assert.equal(await fx.users.countDocuments({ extension: '900' }), 0);
  });
});
