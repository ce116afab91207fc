import assert from 'node:assert/strict';
import { Database } from '../../server/db/Database.js';
import { NumberPlan } from '../../server/directory/NumberPlan.js';
import { seedDirectory } from '../../server/directory/seedDirectory.js';
import { userModel } from '../../server/directory/User.js';
import { DialInPins } from '../../server/meetings/DialInPins.js';
import { callQueueModel, queueHolder } from '../../server/telephony/CallQueue.js';
import type { SyncResult } from '../../shared/schemas/directory.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { connectTestDatabase, dropTestDatabase, testStack } from '../harness/testStack.js';

interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; message: string }[] };
}

function person(extension: string, lastName = 'Nuovo') {
  return { extension, firstName: 'Utente', lastName, password: 'password-123', role: 'user', plan: 'basic' };
}

/** Users' extensions and call queues' numbers are one plan (no PBX needed: queues are kept without one). */
describe('one numbering plan for users and call queues', () => {
  let fx: ServerFixture;
  let admin: TestUser;
  let member: TestUser;

  beforeEach(async () => {
    fx = await startServer();
    admin = await fx.createUser({ role: 'admin', plan: 'pro' });
    member = await fx.createUser({ firstName: 'Marta', lastName: 'Uno' });
  });

  afterEach(async () => {
    await fx.close();
  });

  async function createQueue(number: string, name = 'Assistenza') {
    return fx.api('POST', '/api/queues', {
      token: admin.token,
      body: { number, name, members: [member.extension] },
    });
  }

  function conflict(res: Awaited<ReturnType<ServerFixture['api']>>, field: string, holder: RegExp): void {
    assert.equal(res.status, 409, JSON.stringify(res.body));
    const { error } = res.body as ErrorBody;
    assert.equal(error.code, 'CONFLICT');
    assert.equal(error.details?.[0]?.path, field);
    assert.match(error.message, holder);
  }

  it('refuses a user on a queue’s number with 409 CONFLICT naming the queue, and creates nothing', async () => {
    assert.equal((await createQueue('600')).status, 201);
    const res = await fx.api('POST', '/api/directory/users', { token: admin.token, body: person('600') });
    conflict(res, 'extension', /call queue "Assistenza"/);
    assert.equal(await fx.users.countDocuments({ extension: '600' }), 0);
    // The queue's number is free again once the queue is gone.
    assert.equal((await fx.api('DELETE', '/api/queues/600', { token: admin.token })).status, 204);
    const later = await fx.api('POST', '/api/directory/users', { token: admin.token, body: person('600') });
    assert.equal(later.status, 201, JSON.stringify(later.body));
  });

  it('refuses a queue on a user’s extension with 409 CONFLICT naming the user', async () => {
    conflict(await createQueue(member.extension), 'number', /extension of Uno Marta/);
    const list = await fx.api('GET', '/api/queues', { token: admin.token });
    assert.deepEqual(list.body, { queues: [] });
  });

  it('reports a synchronised or imported row on a queue’s number, and still applies the others', async () => {
    assert.equal((await createQueue('600')).status, 201);
    const sync = await fx.api('PUT', '/api/directory/sync', {
      token: admin.token,
      body: {
        users: [
          { extension: admin.extension, firstName: 'Ada', lastName: 'Admin' },
          { extension: member.extension, firstName: 'Marta', lastName: 'Uno' },
          { extension: '600', firstName: 'Pia', lastName: 'Coda' },
          { extension: '610', firstName: 'Rino', lastName: 'Buono' },
        ],
      },
    });
    assert.equal(sync.status, 200, JSON.stringify(sync.body));
    const result = sync.body as SyncResult;
    assert.equal(result.created, 1);
    assert.equal(result.errors.length, 1, JSON.stringify(result.errors));
    assert.equal(result.errors[0]?.row, 3);
    assert.equal(result.errors[0]?.extension, '600');
    assert.match(result.errors[0]?.message ?? '', /call queue "Assistenza"/);

    const csv = await fx.api('POST', '/api/directory/import', {
      token: admin.token,
      headers: { 'Content-Type': 'text/csv' },
      body: `extension,firstName,lastName\n${admin.extension},Ada,Admin\n${member.extension},Marta,Uno\n610,Rino,Buono\n600,Pia,Coda\n`,
    });
    assert.equal(csv.status, 200, JSON.stringify(csv.body));
    const imported = csv.body as SyncResult;
    assert.equal(imported.errors.length, 1, JSON.stringify(imported.errors));
    assert.equal(imported.errors[0]?.row, 4);
    assert.equal(await fx.users.countDocuments({ extension: '600' }), 0);
    assert.equal(await fx.users.countDocuments({ extension: '610' }), 1);
  });

  it('keeps the meetings’ dial-in extension (8000) from users, queues and synchronised rows, with 409 CONFLICT', async () => {
    const user = await fx.api('POST', '/api/directory/users', { token: admin.token, body: person('8000') });
    conflict(user, 'extension', /dial-in number \(UCC_DIALIN_EXTENSION\)/);
    conflict(await createQueue('8000'), 'number', /dial-in number/);
    const sync = await fx.api('PUT', '/api/directory/sync', {
      token: admin.token,
      body: {
        users: [
          { extension: admin.extension, firstName: 'Ada', lastName: 'Admin' },
          { extension: member.extension, firstName: 'Marta', lastName: 'Uno' },
          { extension: '8000', firstName: 'Pia', lastName: 'Coda' },
        ],
      },
    });
    assert.equal(sync.status, 200, JSON.stringify(sync.body));
    const result = sync.body as SyncResult;
    assert.equal(result.errors.length, 1, JSON.stringify(result.errors));
    assert.equal(result.errors[0]?.extension, '8000');
    assert.match(result.errors[0]?.message ?? '', /dial-in number/);
    assert.equal(await fx.users.countDocuments({ extension: '8000' }), 0);
    assert.equal(await callQueueModel(fx.db.connection).countDocuments({ number: '8000' }), 0);
  });

  it('lets exactly one of a user and a queue created at once on the same number through', async () => {
    const numbers = ['700', '701', '702', '703', '704', '705'];
    const outcomes = await Promise.all(
      numbers.map(async (number, i) => {
        // Both orders of sending: the lock, not who was first on the wire, decides.
        const user = () =>
          fx.api('POST', '/api/directory/users', { token: admin.token, body: person(number) });
        const queue = () => createQueue(number, `Coda ${number}`);
        const [u, q] =
          i % 2 === 0
            ? await Promise.all([user(), queue()])
            : (await Promise.all([queue(), user()])).reverse();
        return { number, user: u?.status, queue: q?.status };
      }),
    );
    for (const o of outcomes) {
      assert.deepEqual([o.user, o.queue].sort(), [201, 409], JSON.stringify(o));
      const users = await fx.users.countDocuments({ extension: o.number });
      const queues = await callQueueModel(fx.db.connection).countDocuments({ number: o.number });
      assert.equal(users + queues, 1, o.number);
    }
  });
});

describe('the dial-in extension at start-up', () => {
  let db: Database;

  beforeEach(async () => {
    db = await connectTestDatabase();
  });

  afterEach(async () => {
    await dropTestDatabase(db);
  });

  /** The refusal a server start gives (it must refuse), as the operator reads it. */
  async function startRefused(config: Parameters<typeof startServer>[0]): Promise<string> {
    let refusal: unknown;
    try {
      const fx = await startServer({ reuseDb: db, ...config });
      await fx.close();
    } catch (err) {
      refusal = err;
    }
    const err = refusal as { code?: string; message?: string; details?: { path: string }[] } | undefined;
    assert.equal(err?.code, 'CONFLICT', String(refusal));
    assert.equal(err.details?.[0]?.path, 'UCC_DIALIN_EXTENSION');
    return err.message ?? '';
  }

  it('stops when a user already has it, naming the variable and the user', async () => {
    await userModel(db.connection).create({
      extension: '8000',
      firstName: 'Pia',
      lastName: 'Centralino',
      passwordHash: 'x',
    });
    assert.match(
      await startRefused({}),
      /^UCC_DIALIN_EXTENSION 8000 is already the extension of Centralino Pia: set UCC_DIALIN_EXTENSION to a free number/,
    );
    // Another dial-in extension: the same data starts.
    const dialIn = { ...testStack().config.dialIn, extension: '8001' };
    const fx = await startServer({ reuseDb: db, config: { dialIn } });
    await fx.close();
  });

  it('stops when a call queue already has it', async () => {
    const queues = callQueueModel(db.connection);
    await queues.init();
    await queues.create({ number: '7900', name: 'Centralino', members: ['200'] });
    const dialIn = { ...testStack().config.dialIn, extension: '7900' };
    assert.match(await startRefused({ config: { dialIn } }), /call queue "Centralino"/);
  });

  it('is not given to the seeded admin either', async () => {
    const numbers = new NumberPlan(userModel(db.connection));
    numbers.register('dialIn', DialInPins.numberHolder('8000'));
    await assert.rejects(
      seedDirectory(db.connection, {
        logger: testStack().logger,
        numbers,
        admin: { extension: '8000', password: 'admin-password' },
      }),
      (err: { code?: string; details?: { path: string }[] }) =>
        err.code === 'CONFLICT' && err.details?.[0]?.path === 'UCC_ADMIN_EXTENSION',
    );
  });
});

describe('first-run seeding and call queues', () => {
  let db: Database;
  let numbers: NumberPlan;

  beforeEach(async () => {
    db = await connectTestDatabase();
    numbers = new NumberPlan(userModel(db.connection));
    const queues = callQueueModel(db.connection);
    await queues.init();
    numbers.register('queue', queueHolder(queues));
    await queues.create({ number: '203', name: 'Assistenza', members: ['200'] });
  });

  afterEach(async () => {
    await dropTestDatabase(db);
  });

  it('leaves out a demo user whose extension is a queue’s number', async () => {
    const seed = await seedDirectory(db.connection, { logger: testStack().logger, numbers });
    assert.deepEqual(
      seed.demoCredentials?.map((c) => c.extension),
      ['200', '201', '202', '204', '205'],
    );
    assert.equal(await userModel(db.connection).countDocuments({ extension: '203' }), 0);
  });

  it('stops with CONFLICT naming UCC_ADMIN_EXTENSION when the admin would get a queue’s number', async () => {
    await assert.rejects(
      seedDirectory(db.connection, {
        logger: testStack().logger,
        numbers,
        admin: { extension: '203', password: 'admin-password' },
      }),
      (err: { code?: string; details?: { path: string }[] }) =>
        err.code === 'CONFLICT' && err.details?.[0]?.path === 'UCC_ADMIN_EXTENSION',
    );
    assert.equal(await userModel(db.connection).countDocuments({ extension: '203' }), 0);
  });
});
