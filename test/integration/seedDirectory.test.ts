import assert from 'node:assert/strict';
import { verifyPassword } from '../../server/util/passwords.js';
import { Database } from '../../server/db/Database.js';
import { DEMO_USERS, seedDirectory } from '../../server/directory/seedDirectory.js';
import { userModel } from '../../server/directory/User.js';
import { connectTestDatabase, dropTestDatabase, testStack } from '../harness/testStack.js';

describe('first-run directory seeding', () => {
  let db: Database;

  beforeEach(async () => {
    db = await connectTestDatabase();
  });

  afterEach(async () => {
    await dropTestDatabase(db);
  });

  it('creates extensions 200-205 once, with one PRO organizer and working passwords', async () => {
    const { logger } = testStack();
    const first = await seedDirectory(db.connection, { logger });
    assert.deepEqual(
      first.demoCredentials?.map((c) => c.extension),
      DEMO_USERS.map((u) => u.extension),
    );
    const Users = userModel(db.connection);
    const pro = await Users.find({ plan: 'pro' }).lean();
    assert.deepEqual(
      pro.map((u) => u.extension),
      ['200'],
    );
    const giulia = await Users.findOne({ extension: '201' }).lean();
    const password = first.demoCredentials?.find((c) => c.extension === '201')?.password ?? '';
    assert.ok(giulia && (await verifyPassword(password, giulia.passwordHash)));

    // Deleted demo users stay deleted: the demo is seeded once per database.
    await Users.deleteOne({ extension: '205' });
    const second = await seedDirectory(db.connection, { logger });
    assert.equal(second.demoCredentials, undefined);
    assert.equal(await Users.countDocuments(), 5);
  });

  it('seeds no demo users with the demo off, and leaves the flag unset so turning it on seeds them once', async () => {
    const { logger } = testStack();
    const Users = userModel(db.connection);
    // The flag seedDirectory keeps in the SystemFlag model's collection.
    const seededFlag = () =>
      db.connection.collection<{ _id: string }>('systemflags').countDocuments({ _id: 'demoDirectorySeeded' });

    const off = await seedDirectory(db.connection, { logger, demo: false });
    assert.equal(off.demoCredentials, undefined);
    assert.equal(await Users.countDocuments(), 0);
    assert.equal(await seededFlag(), 0);

    const on = await seedDirectory(db.connection, { logger, demo: true });
    assert.deepEqual(
      on.demoCredentials?.map((c) => c.extension),
      DEMO_USERS.map((u) => u.extension),
    );
    assert.equal(await seededFlag(), 1);
    const again = await seedDirectory(db.connection, { logger, demo: true });
    assert.equal(again.demoCredentials, undefined);
    assert.equal(await Users.countDocuments(), DEMO_USERS.length);
  });

  it('uses UCC_DEMO_PASSWORD for every demo user when given', async () => {
    await seedDirectory(db.connection, { logger: testStack().logger, demoPassword: 'demo-pass' });
    const users = await userModel(db.connection).find().lean();
    assert.equal(users.length, 6);
    for (const u of users) assert.ok(await verifyPassword('demo-pass', u.passwordHash), u.extension);
  });

  it('creates the admin account, and refreshes its password on the next start', async () => {
    const { logger } = testStack();
    await seedDirectory(db.connection, { logger, admin: { extension: '900', password: 'first-password' } });
    await seedDirectory(db.connection, { logger, admin: { extension: '900', password: 'second-password' } });
    const admins = await userModel(db.connection).find({ extension: '900' }).lean();
    assert.equal(admins.length, 1);
    assert.equal(admins[0]?.role, 'admin');
    assert.ok(await verifyPassword('second-password', admins[0]?.passwordHash ?? ''));
  });
});
