import { KeyedSerial } from '../util/KeyedSerial.js';
import { numberInUse } from './errors.js';
import type { UserModel } from './User.js';

/**
 * What holds a number: a directory user, or something of a domain above the directory (a call queue, the
 * meetings' dial-in extension, which is reserved by configuration and never given out here).
 */
export type NumberKind = 'user' | 'queue' | 'dialIn';

/** Says what of its kind holds `number` ("the call queue 300 (Vendite)"), or undefined when none does. */
export type NumberHolder = (number: string) => Promise<string | undefined>;

/**
 * Users' extensions and call queues' numbers are one numbering plan: a dialled number rings one thing, and
 * Kamailio's route[NUMBER] would otherwise pick the user and leave the queue unreachable. The directory cannot
 * know queues (they live above it), so each kind registers how to find its holder here, and every write that
 * gives a number out runs in `claim`: the check of the other kinds and the write happen with that number locked
 * for this whole process, so a user and a queue created at once on one number cannot both succeed. Within a
 * kind, the unique index still decides (two users on one extension). One process only, like the other
 * KeyedSerial queues (docs/architecture.md).
 */
export class NumberPlan {
  readonly #locks = new KeyedSerial();
  readonly #holders = new Map<NumberKind, NumberHolder>();

  constructor(users: UserModel) {
    this.register('user', async (number) => {
      const user = await users.findOne({ extension: number }, { firstName: 1, lastName: 1 }).lean();
      return user ? `the extension of ${user.lastName} ${user.firstName}` : undefined;
    });
  }

  register(kind: NumberKind, holder: NumberHolder): void {
    this.#holders.set(kind, holder);
  }

  /** What of a kind other than `kind` holds `number`, if anything does (no lock: for reports and start-up). */
  async heldByOther(number: string, kind: NumberKind): Promise<string | undefined> {
    for (const [other, holder] of this.#holders) {
      if (other === kind) continue;
      const held = await holder(number);
      if (held) return held;
    }
    return undefined;
  }

  /**
   * Runs `write` (which gives `number` to something of `kind`) once no other kind holds it, with the number
   * locked meanwhile; otherwise a 409 CONFLICT naming the holder, its detail on `field`.
   */
  claim<T>(number: string, kind: NumberKind, field: string, write: () => Promise<T>): Promise<T> {
    return this.#locks.run(number, async () => {
      const held = await this.heldByOther(number, kind);
      if (held) throw numberInUse(number, held, field);
      return write();
    });
  }
}
