import { randomBytes } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import { hashPassword } from '../util/passwords.js';
import type { Logger } from '../logger.js';
import { numberInUse } from './errors.js';
import type { NumberPlan } from './NumberPlan.js';
import { userModel, type User } from './User.js';

type DemoUser = Pick<User, 'extension' | 'firstName' | 'lastName' | 'plan'>;

/** A small office: 200 is the PRO organizer, the others are colleagues. */
export const DEMO_USERS: readonly DemoUser[] = [
  { extension: '200', firstName: 'Mario', lastName: 'Rossi', plan: 'pro' },
  { extension: '201', firstName: 'Giulia', lastName: 'Bianchi', plan: 'basic' },
  { extension: '202', firstName: 'Nicolò', lastName: 'Esposito', plan: 'basic' },
  { extension: '203', firstName: 'Chiara', lastName: 'Romano', plan: 'basic' },
  { extension: '204', firstName: 'Luca', lastName: 'Colombo', plan: 'basic' },
  { extension: '205', firstName: 'Sofia', lastName: 'Ricci', plan: 'basic' },
];

interface SystemFlag {
  _id: string;
  at: Date;
}

const flagSchema = new Schema<SystemFlag>({
  _id: { type: String, required: true },
  at: { type: Date, required: true },
});

export interface SeedResult {
  /** Present only on the run that created the demo users, with the passwords to print once. */
  demoCredentials?: { extension: string; name: string; plan: string; password: string }[];
  adminRefreshed: boolean;
}

/**
 * First-run seeding of the demo directory, and the operator's admin account. The demo is seeded once per
 * database (a flag records it), so deleting demo users later does not bring them back. With the demo off
 * (UCC_DEMO_DIRECTORY=off) nothing is seeded and the flag is not set: turning it on later still seeds once.
 */
export async function seedDirectory(
  connection: Connection,
  options: {
    /** Seed the demo users on a database that never had them; default true (the embedded defaults). */
    demo?: boolean | undefined;
    demoPassword?: string | undefined;
    admin?: { extension: string; password: string } | undefined;
    /** The numbering plan shared with call queues: a number a queue has is never given to a user here. */
    numbers?: Pick<NumberPlan, 'heldByOther'>;
    logger: Logger;
  },
): Promise<SeedResult> {
  const Users = userModel(connection);
  const Flags =
    (connection.models.SystemFlag as Model<SystemFlag> | undefined) ??
    connection.model<SystemFlag>('SystemFlag', flagSchema);
  await Users.init();
  const result: SeedResult = { adminRefreshed: false };

  const demoOn = options.demo ?? true;
  if (demoOn && !(await Flags.exists({ _id: 'demoDirectorySeeded' }))) {
    const credentials: NonNullable<SeedResult['demoCredentials']> = [];
    for (const demo of DEMO_USERS) {
      if (await Users.exists({ extension: demo.extension })) continue;
      const held = await options.numbers?.heldByOther(demo.extension, 'user');
      if (held) {
        options.logger.warn(
          { extension: demo.extension },
          `demo user not seeded: ${demo.extension} is ${held}`,
        );
        continue;
      }
      const password = options.demoPassword ?? randomBytes(6).toString('base64url');
      await Users.create({ ...demo, passwordHash: await hashPassword(password) });
      credentials.push({
        extension: demo.extension,
        name: `${demo.lastName} ${demo.firstName}`,
        plan: demo.plan,
        password,
      });
    }
    await Flags.create({ _id: 'demoDirectorySeeded', at: new Date() });
    result.demoCredentials = credentials;
    options.logger.info({ count: credentials.length }, 'demo directory seeded');
  }

  if (options.admin) {
    // Seeding runs before the HTTP server: nothing can create a queue between this check and the upsert.
    const exists = await Users.exists({ extension: options.admin.extension });
    const held = exists ? undefined : await options.numbers?.heldByOther(options.admin.extension, 'user');
    if (held) throw numberInUse(options.admin.extension, held, 'UCC_ADMIN_EXTENSION');
    const passwordHash = await hashPassword(options.admin.password);
    await Users.updateOne(
      { extension: options.admin.extension },
      {
        $set: { role: 'admin', passwordHash, disabled: false },
        $setOnInsert: {
          extension: options.admin.extension,
          firstName: 'Admin',
          lastName: 'UCC',
          plan: 'pro',
        },
      },
      { upsert: true },
    );
    result.adminRefreshed = true;
    options.logger.info({ extension: options.admin.extension }, 'admin account created or refreshed');
  }
  return result;
}
