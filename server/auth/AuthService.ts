import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Connection, Model } from 'mongoose';
import type { SessionEndReason } from '../../shared/protocol.js';
import type { LoginResponse } from '../../shared/schemas/auth.js';
import type { Clock } from '../clock.js';
import type { DirectoryEvents } from '../directory/DirectoryEvents.js';
import { toPublicUser, type User, type UserModel } from '../directory/User.js';
import { UnauthenticatedError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Mailer } from '../mail/Mailer.js';
import {
  authModels,
  type AuthClaim,
  type AuthModels,
  type PasswordReset,
  type RefreshToken,
} from './authModels.js';
import { accountInactive, invalidCredentials, refreshTokenReused, sessionEnded } from './errors.js';
import { hashPassword, verifyPassword } from '../util/passwords.js';
import type { KeyedSerial } from '../util/KeyedSerial.js';
import { SafeEmitter } from '../util/SafeEmitter.js';
import type { TokenService } from './TokenService.js';
import { isDuplicateKey } from '../db/duplicateKey.js';

/** Whose sessions ended: one session, or every session of the user (but one, when `exceptSessionId` is set). */
export interface SessionTarget {
  userId: string;
  sessionId?: string;
  exceptSessionId?: string;
}

export interface AuthEventMap {
  /** Sessions were revoked: their live sockets must go too. */
  'sessions.ended': [target: SessionTarget, reason: SessionEndReason];
}

export interface AuthServiceOptions {
  connection: Connection;
  users: UserModel;
  /** The per-user write queue shared with the directory (FerretDB v1 loses concurrent updates of a document). */
  userWrites: KeyedSerial;
  events: DirectoryEvents;
  tokens: TokenService;
  mailer: Mailer;
  clock: Clock;
  publicUrl: string;
  refreshTtlMs: number;
  /** A rotated refresh token presented again this soon gets the same successor instead of burning its family. */
  refreshGraceMs: number;
  resetTtlMs: number;
  logger: Logger;
  /** How often expired tokens are purged (no TTL indexes on FerretDB). */
  purgeIntervalMs?: number;
}

export interface Session {
  response: LoginResponse;
  refreshToken: string;
  refreshExpiresAt: Date;
}

function sha256(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Login, rotating refresh tokens, logout, password change and recovery. */
export class AuthService extends SafeEmitter<AuthEventMap> {
  readonly #log: Logger;
  readonly #o: AuthServiceOptions;
  readonly #refresh: Model<RefreshToken>;
  readonly #resets: Model<PasswordReset>;
  readonly #claims: Model<AuthClaim>;
  readonly #purgeTimer: NodeJS.Timeout;
  /** A hash to verify against when the extension is unknown, so both failures cost the same time. */
  readonly #decoyHash: string;
  #closed = false;

  private constructor(o: AuthServiceOptions, models: AuthModels, decoy: string) {
    const log = o.logger.child({ component: 'auth' });
    // Sessions are revoked (saved) before `sessions.ended`: a throwing listener must not undo a logout's answer.
    super(log);
    this.#log = log;
    this.#o = o;
    this.#refresh = models.refresh;
    this.#resets = models.resets;
    this.#claims = models.claims;
    this.#decoyHash = decoy;
    this.#purgeTimer = setInterval(
      () => this.#inBackground(this.purgeExpired(), 'purging expired tokens failed'),
      o.purgeIntervalMs ?? 3_600_000,
    );
    this.#purgeTimer.unref();

    // Sessions end with the account: disabling, deleting, or an admin's password change revoke them.
    const revoke = (userId: string, reason: SessionEndReason): void =>
      this.#inBackground(this.revokeAll(userId, reason), 'revoking the sessions of a user failed');
    o.events.on('user.disabled', (user) => revoke(user.id, 'disabled'));
    o.events.on('user.deleted', (user) => revoke(user.id, 'deleted'));
    o.events.on('user.updated', (user, changed) => {
      if (changed.includes('password')) revoke(user.id, 'passwordChanged');
    });
  }

  /** Work nobody awaits (an event handler, a timer): a failure is logged, never an unhandled rejection. */
  #inBackground(task: Promise<unknown>, what: string): void {
    task.catch((err: unknown) => this.#log.error({ err }, what));
  }

  static async create(o: AuthServiceOptions): Promise<AuthService> {
    const models = authModels(o.connection);
    await Promise.all([models.refresh.init(), models.resets.init(), models.claims.init()]);
    return new AuthService(o, models, await hashPassword(randomUUID()));
  }

  async login(extension: string, password: string): Promise<Session> {
    const user = await this.#o.users.findOne({ extension }).lean();
    const ok = await verifyPassword(password, user?.passwordHash ?? this.#decoyHash);
    if (!user || !ok || user.disabled) throw invalidCredentials();
    const userId = String(user._id);
    const familyId = randomUUID();
    const refreshToken = newOpaqueToken();
    const stored = await this.#store(refreshToken, userId, familyId);
    return this.#session(user, familyId, refreshToken, stored.expiresAt);
  }

  /**
   * Rotates the presented refresh token. The rotation is claimed by a unique insert, so of concurrent refreshes
   * with one token exactly one rotates it. Another one within the grace window (a second tab) gets the same
   * successor; later, presenting a rotated token is a replay and revokes its whole family.
   */
  async refresh(presented: string | undefined): Promise<Session> {
    if (!presented) throw new UnauthenticatedError('No refresh token');
    const now = this.#o.clock.now();
    const tokenHash = sha256(presented);
    const record = await this.#refresh.findOne({ tokenHash }).lean();
    if (!record) throw new UnauthenticatedError('Unknown refresh token');
    const { userId, familyId } = record;
    if (record.revokedAt || (await this.#isRevoked(familyId))) throw sessionEnded();
    if (record.expiresAt.getTime() <= now) throw new UnauthenticatedError('Refresh token expired');

    const claim = record.replacedAt
      ? { won: false, at: record.replacedAt }
      : await this.#claim({ _id: `refresh:${tokenHash}`, userId, familyId, expiresAt: record.expiresAt });
    if (!claim.won) {
      const graceMs = this.#o.refreshGraceMs;
      if (claim.at === undefined || graceMs <= 0 || now - claim.at.getTime() > graceMs) {
        await this.#revoke({ userId, sessionId: familyId }, [familyId], 'revoked');
        this.#log.warn({ userId }, 'refresh token reused; session family revoked');
        throw refreshTokenReused();
      }
    }
    const user = await this.#o.users.findById(userId).lean();
    if (!user || user.disabled) {
      await this.#revoke({ userId, sessionId: familyId }, [familyId], 'disabled');
      throw accountInactive();
    }
    const successor = this.#o.tokens.successorOf(presented);
    const stored = await this.#store(successor, userId, familyId);
    // No second look at the revocation here: the winner of the claim answers whatever its concurrent losers do
    // (exactly one rotation succeeds). A family revoked meanwhile (logout, a replay) still ends: every refresh
    // and every socket handshake checks the marker, so the successor is dead on arrival.
    return this.#session(user, familyId, successor, stored.expiresAt);
  }

  /** Ends the session the refresh token belongs to. Unknown tokens are ignored: logging out always succeeds. */
  async logout(presented: string | undefined): Promise<void> {
    if (!presented) return;
    const record = await this.#refresh
      .findOne({ tokenHash: sha256(presented) }, { familyId: 1, userId: 1 })
      .lean();
    if (record) {
      await this.#revoke({ userId: record.userId, sessionId: record.familyId }, [record.familyId], 'logout');
    }
  }

  /** Changes the password and ends every other session of the user (the caller's own stays, if known). */
  async changePassword(
    userId: string,
    currentPassword: string,
    newPassword: string,
    presentedRefresh: string | undefined,
  ): Promise<void> {
    const user = await this.#o.users.findById(userId).lean();
    if (!user || !(await verifyPassword(currentPassword, user.passwordHash))) {
      throw new ValidationError('The current password is wrong', [
        { path: 'currentPassword', message: 'wrong password' },
      ]);
    }
    await this.#setPasswordHash(userId, await hashPassword(newPassword));
    const keep = presentedRefresh
      ? (await this.#refresh.findOne({ tokenHash: sha256(presentedRefresh), userId }, { familyId: 1 }).lean())
          ?.familyId
      : undefined;
    const families = (await this.#familiesOf(userId)).filter((f) => f !== keep);
    await this.#revoke(
      keep === undefined ? { userId } : { userId, exceptSessionId: keep },
      families,
      'passwordChanged',
    );
  }

  /**
   * Starts password recovery. The caller always gets the same answer; the lookup and the mail happen after the
   * response so that timing does not reveal which extensions exist.
   */
  recover(extension: string): void {
    void this.#sendRecovery(extension).catch((err: unknown) => {
      this.#log.error({ err }, 'password recovery mail failed');
    });
  }

  async resetPassword(token: string, password: string): Promise<void> {
    const now = this.#o.clock.now();
    const invalid = new ValidationError('This reset link is invalid or has expired', [
      { path: 'token', message: 'invalid or expired' },
    ]);
    const tokenHash = sha256(token);
    const record = await this.#resets.findOne({ tokenHash }).lean();
    if (!record || record.usedAt || record.expiresAt.getTime() <= now) throw invalid;
    // The claim makes the link single-use, even for concurrent requests.
    const claim = await this.#claim({
      _id: `reset:${tokenHash}`,
      userId: record.userId,
      expiresAt: record.expiresAt,
    });
    if (!claim.won) throw invalid;
    const user = await this.#o.users.findById(record.userId, { disabled: 1 }).lean();
    if (!user || user.disabled) throw invalid;
    await this.#setPasswordHash(record.userId, await hashPassword(password));
    await this.revokeAll(record.userId, 'passwordChanged');
  }

  /** Ends every session of the user, and tells whoever holds their sockets. */
  async revokeAll(userId: string, reason: SessionEndReason): Promise<void> {
    await this.#revoke({ userId }, await this.#familiesOf(userId), reason);
  }

  /** Whether the session (refresh-token family) is still on: not revoked and not past its last token's end. */
  async isActive(sessionId: string): Promise<boolean> {
    if (await this.#isRevoked(sessionId)) return false;
    const now = new Date(this.#o.clock.now());
    return (await this.#refresh.exists({ familyId: sessionId, expiresAt: { $gt: now } })) !== null;
  }

  /** Deletes expired tokens and claims. FerretDB has no TTL indexes, so this runs on a timer. */
  async purgeExpired(): Promise<void> {
    if (this.#closed) return;
    const now = new Date(this.#o.clock.now());
    await Promise.all([
      this.#refresh.deleteMany({ expiresAt: { $lte: now } }),
      this.#resets.deleteMany({ expiresAt: { $lte: now } }),
      this.#claims.deleteMany({ expiresAt: { $lte: now } }),
    ]).catch((err: unknown) => this.#log.warn({ err }, 'token purge failed'));
  }

  /** Idempotent: stops the purge timer and the listeners. */
  close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#purgeTimer);
    this.removeAllListeners();
    return Promise.resolve();
  }

  /** Stores a refresh token; storing the same one again (the grace window's second caller) finds the first. */
  async #store(token: string, userId: string, familyId: string): Promise<{ expiresAt: Date }> {
    const tokenHash = sha256(token);
    const now = this.#o.clock.now();
    try {
      return await this.#refresh.create({
        tokenHash,
        userId,
        familyId,
        expiresAt: new Date(now + this.#o.refreshTtlMs),
        createdAt: new Date(now),
      });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const existing = await this.#refresh.findOne({ tokenHash }, { expiresAt: 1 }).lean();
      if (!existing) throw sessionEnded(); // Purged in between: only an expired token is purged.
      return existing;
    }
  }

  #session(
    user: User & { _id: unknown },
    familyId: string,
    refreshToken: string,
    refreshExpiresAt: Date,
  ): Session {
    const pub = toPublicUser(user);
    const access = this.#o.tokens.signAccess({
      userId: pub.id,
      extension: pub.extension,
      sessionId: familyId,
    });
    return {
      refreshToken,
      refreshExpiresAt,
      response: {
        accessToken: access.token,
        expiresInMs: access.expiresInMs,
        user: {
          id: pub.id,
          extension: pub.extension,
          firstName: pub.firstName,
          lastName: pub.lastName,
          plan: pub.plan,
          role: pub.role,
        },
      },
    };
  }

  /** Takes a one-time decision: won, or lost to an earlier one (with when that one was taken). */
  async #claim(claim: Omit<AuthClaim, 'at'>): Promise<{ won: boolean; at?: Date | undefined }> {
    try {
      await this.#claims.create({ ...claim, at: new Date(this.#o.clock.now()) });
      return { won: true };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const earlier = await this.#claims.findById(claim._id, { at: 1 }).lean();
      return { won: false, at: earlier?.at };
    }
  }

  async #isRevoked(familyId: string): Promise<boolean> {
    return (await this.#claims.exists({ _id: `revoked:${familyId}` })) !== null;
  }

  async #familiesOf(userId: string): Promise<string[]> {
    const now = new Date(this.#o.clock.now());
    const docs = await this.#refresh.find({ userId, expiresAt: { $gt: now } }, { familyId: 1 }).lean();
    return [...new Set(docs.map((d) => d.familyId))];
  }

  /**
   * Revokes the families (one insert per family; a second revocation of one is a no-op), then tells the
   * listeners, even when the write failed: the sockets go in any case.
   */
  async #revoke(target: SessionTarget, familyIds: string[], reason: SessionEndReason): Promise<void> {
    const now = this.#o.clock.now();
    try {
      await Promise.all(
        familyIds.map((familyId) =>
          this.#claim({
            _id: `revoked:${familyId}`,
            userId: target.userId,
            familyId,
            expiresAt: new Date(now + this.#o.refreshTtlMs),
          }),
        ),
      );
    } finally {
      this.safeEmit('sessions.ended', target, reason);
    }
  }

  async #setPasswordHash(userId: string, passwordHash: string): Promise<void> {
    await this.#o.userWrites.run(userId, () =>
      this.#o.users.updateOne({ _id: userId }, { $set: { passwordHash } }),
    );
  }

  async #sendRecovery(extension: string): Promise<void> {
    const user = await this.#o.users.findOne({ extension }).lean();
    if (!user || user.disabled || !user.email) return;
    const token = newOpaqueToken();
    const now = this.#o.clock.now();
    await this.#resets.create({
      tokenHash: sha256(token),
      userId: String(user._id),
      expiresAt: new Date(now + this.#o.resetTtlMs),
    });
    const link = `${this.#o.publicUrl}/reset-password?token=${encodeURIComponent(token)}`;
    const minutes = Math.round(this.#o.resetTtlMs / 60_000);
    await this.#o.mailer.send({
      to: user.email,
      subject: 'OpiVoice UCC: recupero password',
      text: [
        `Ciao ${user.firstName},`,
        '',
        `per scegliere una nuova password per l'interno ${user.extension} apri questo link (valido ${minutes} minuti):`,
        link,
        '',
        'Se non hai chiesto tu il recupero, ignora questo messaggio.',
      ].join('\n'),
    });
  }
}
