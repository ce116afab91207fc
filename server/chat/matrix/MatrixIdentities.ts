import type { ChatMemberView } from '../../../shared/schemas/chat.js';
import type { PublicUser } from '../../../shared/schemas/directory.js';
import type { Clock } from '../../clock.js';
import { displayName, type UserModel } from '../../directory/User.js';
import { APPSERVICE_SENDER_LOCALPART, APPSERVICE_USER_PREFIX } from './appservice.js';
import type { MatrixClients } from './MatrixClients.js';

/** Shown after the name of a disabled colleague, in every Matrix client. */
export const DISABLED_MARK = ' [disattivato]';

/** How long a Matrix profile's display name is trusted before it is looked up again. */
const PROFILE_TTL_MS = 5 * 60_000;

/**
 * Who is who between the directory and Matrix: our users are `@ucc_<extension>:<server>`, the bridge's sender
 * `@ucc-bridge:<server>`, and anyone else (an Element user) is known by their Matrix profile.
 */
export class MatrixIdentities {
  readonly botMxid: string;
  readonly serverName: string;
  readonly #users: UserModel;
  readonly #clients: MatrixClients;
  readonly #clock: Clock;
  readonly #mxidPattern: RegExp;
  /** Matrix display names of people outside the directory. */
  readonly #profiles = new Map<string, { name: string; at: number }>();

  constructor(options: { serverName: string; users: UserModel; clients: MatrixClients; clock: Clock }) {
    this.serverName = options.serverName;
    this.botMxid = botMxidOf(options.serverName);
    this.#users = options.users;
    this.#clients = options.clients;
    this.#clock = options.clock;
    this.#mxidPattern = new RegExp(
      `^@${APPSERVICE_USER_PREFIX}(\\d{2,10}):${escapeRegex(options.serverName)}$`,
    );
  }

  mxidOf(extension: string): string {
    return `@${APPSERVICE_USER_PREFIX}${extension}:${this.serverName}`;
  }

  /** The extension behind one of our users' mxids; undefined for anyone else (Element users, the bot). */
  extensionOf(mxid: string): string | undefined {
    return this.#mxidPattern.exec(mxid)?.[1];
  }

  /** Ours: a directory user's account or the bridge's sender. */
  isBridged(mxid: string): boolean {
    return mxid === this.botMxid || this.extensionOf(mxid) !== undefined;
  }

  /**
   * Who these mxids are: directory colleagues by extension ("Nome Cognome (200)"), anyone else by their Matrix
   * profile (cached a few minutes), or the mxid itself when they have none.
   */
  async identify(mxids: string[]): Promise<Map<string, ChatMemberView>> {
    const out = new Map<string, ChatMemberView>();
    const byExtension = new Map<string, string>();
    for (const mxid of mxids) {
      const extension = this.extensionOf(mxid);
      if (extension) byExtension.set(extension, mxid);
    }
    if (byExtension.size > 0) {
      const docs = await this.#users
        .find(
          { extension: { $in: [...byExtension.keys()] } },
          { extension: 1, firstName: 1, lastName: 1, disabled: 1 },
        )
        .lean();
      for (const doc of docs) {
        const mxid = byExtension.get(doc.extension);
        if (mxid) {
          out.set(mxid, {
            mxid,
            userId: String(doc._id),
            extension: doc.extension,
            // Our apps show colleagues as the directory does ("Rossi Mario"); the Matrix profile name, with the
            // extension for Element users, is displayNameOf.
            displayName: `${displayName(doc)}${doc.disabled ? DISABLED_MARK : ''}`,
          });
        }
      }
    }
    await Promise.all(
      mxids
        .filter((m) => !out.has(m))
        .map(async (mxid) => out.set(mxid, { mxid, displayName: await this.#profileName(mxid) })),
    );
    return out;
  }

  /** One member as identify() tells them, or the mxid itself. */
  async member(mxid: string): Promise<ChatMemberView> {
    return (await this.identify([mxid])).get(mxid) ?? { mxid, displayName: mxid };
  }

  /** A display name seen in a membership event: fresher than a profile lookup. */
  rememberDisplayName(mxid: string, name: string): void {
    this.#profiles.set(mxid, { name, at: this.#clock.now() });
  }

  async #profileName(mxid: string): Promise<string> {
    const cached = this.#profiles.get(mxid);
    if (cached && this.#clock.now() - cached.at < PROFILE_TTL_MS) return cached.name;
    let name = mxid;
    try {
      const profile = await this.#clients.call(() =>
        this.#clients.client().getProfileInfo(mxid, 'displayname'),
      );
      if (profile.displayname) name = profile.displayname;
    } catch {
      // No profile (or Synapse unreachable): the mxid is still a truthful name.
    }
    this.#profiles.set(mxid, { name, at: this.#clock.now() });
    return name;
  }

  /** "Nome Cognome (200)", the name every Matrix client shows; marked when the account is disabled. */
  static displayNameOf(user: Pick<PublicUser, 'firstName' | 'lastName' | 'extension' | 'disabled'>): string {
    const name = `${user.firstName} ${user.lastName} (${user.extension})`;
    return user.disabled ? `${name}${DISABLED_MARK}` : name;
  }
}

export function botMxidOf(serverName: string): string {
  return `@${APPSERVICE_SENDER_LOCALPART}:${serverName}`;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
