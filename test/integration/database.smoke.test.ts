import assert from 'node:assert/strict';
import { Database } from '../../server/db/Database.js';
import { userModel } from '../../server/directory/User.js';
import { connectTestDatabase, dropTestDatabase } from '../harness/testStack.js';

describe('database (real FerretDB over the MongoDB wire protocol)', () => {
  let db: Database;

  beforeEach(async () => {
    db = await connectTestDatabase();
  });

  afterEach(async () => {
    await dropTestDatabase(db);
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
