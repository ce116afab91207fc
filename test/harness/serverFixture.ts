import { randomUUID } from 'node:crypto';
import { Database } from '../../server/db/Database.js';
import type { MatrixEndpoint } from '../../server/stack/EmbeddedStack.js';
import { UccServer } from '../../server/UccServer.js';
import { testStack } from './testStack.js';

export interface ServerFixture {
  server: UccServer;
  db: Database;
  baseUrl: string;
  close: () => Promise<void>;
}

/** A UccServer on port 0 against the suite's real services, with a database of its own. */
export async function startServer(options: { matrix?: MatrixEndpoint } = {}): Promise<ServerFixture> {
  const stack = testStack();
  const db = await Database.connect(stack.ferret.uri, {
    dbName: `t_${randomUUID().slice(0, 8)}`,
    logger: stack.logger,
  });
  const server = await UccServer.create({
    config: stack.config,
    logger: stack.logger,
    db,
    pool: stack.pool,
    matrix: options.matrix ?? stack.matrix,
  });
  return {
    server,
    db,
    baseUrl: `http://127.0.0.1:${server.port}`,
    close: async () => {
      await server.close();
      await db.connection.dropDatabase();
      await db.close();
    },
  };
}
