import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Database } from '../../server/db/Database.js';
import { userModel } from '../../server/directory/User.js';
import { testStack } from '../harness/testStack.js';

describe('database (real FerretDB over the MongoDB wire protocol)', () => {
  let db: Database;

  beforeEach(async () => {
    const stack = testStack();
    db = await Database.connect(stack.ferret.uri, {
      dbName: `t_${randomUUID().slice(0, 8)}`,
      logger: stack.logger,
    });
  });

  afterEach(async () => {
    await db.connection.dropDatabase();
    await db.close();
  });

  it('answers a ping', async () => {
    await db.ping();
  });

  it('rejects a second user with the same extension with E11000', async () => {
    const Users = userModel(db.connection);
    await Users.init();
    const user = { extension: '200', firstName: 'Mario', lastName: 'Rossi', passwordHash: 'x' };
    await Users.create(user);
    await assert.rejects(Users.create({ ...user, firstName: 'Other' }), (err: unknown) => {
      assert.equal((err as { code?: number }).code, 11000);
      assert.match(String(err), /E11000/);
      return true;
    });
    assert.equal(await Users.countDocuments({ extension: '200' }), 1);
  });
});
