import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import type { LoginResponse } from '../../shared/schemas/auth.js';
import type { Clock } from '../clock.js';
import type { DirectoryEvents } from '../directory/DirectoryEvents.js';
import { toPublicUser, type UserModel } from '../directory/User.js';
import { AppError, UnauthenticatedError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Mailer } from '../mail/Mailer.js';
import { hashPassword, verifyPassword } from './passwords.js';
import type { TokenService } from './TokenService.js';

/**
 * A refresh token, stored only as its SHA-256. Tokens of one login form a family: each refresh replaces the
 * presented token by a new one of the same family. Presenting a replaced (or revoked) token again means it was
 * stolen or replayed, and the whole family is revoked.
 */
interface RefreshToken {
  tokenHash: string;
  userId: string;
  familyId: string;
  expiresAt: Date;
  replacedAt?: Date;
  revokedAt?: Date;
  createdAt: Date;
}

interface PasswordReset {
  tokenHash: string;
  userId: string;
  expiresAt: Date;
  usedAt?: Date;
}

const refreshSchema = new Schema<RefreshToken>({
  tokenHash: { type: String, required: true },
  userId: { type: String, required: true },
  familyId: { type: String, required: true },
  expiresAt: { type: Date, required: true },
  replacedAt: Date,
  revokedAt: Date,
  createdAt: { type: Date, required: true },
});
refreshSchema.index({ tokenHash: 1 }, { unique: true });
refreshSchema.index({ userId: 1 });
refreshSchema.index({ familyId: 1 });

const resetSchema = new Schema<PasswordReset>({
  tokenHash: { type: String, required: true },
  userId: { type: String, required: true },
  expiresAt: { type: Date, required: true },
  usedAt: Date,
});
resetSchema.index({ tokenHash: 1 }, { unique: true });

export interface AuthServiceOptions {
  connection: Connection;
  users: UserModel;
  events: DirectoryEvents;
  tokens: TokenService;
  mailer: Mailer;
  clock: Clock;
  publicUrl: string;
  refreshTtlMs: number;
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

const invalidCredentials = (): AppError =>
  new UnauthenticatedError('Wrong extension or password', 'INVALID_CREDENTIALS');

function sha256(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Login, rotating refresh tokens, logout, password change and recovery. */
export class AuthService {
  readonly #o: AuthServiceOptions;
  readonly #refresh: Model<RefreshToken>;
  readonly #resets: Model<PasswordReset>;
  readonly #purgeTimer: NodeJS.Timeout;
  /** A hash to verify against when the extension is unknown, so both failures cost the same time. */
  readonly #decoyHash: string;
  #closed = false;

  private constructor(
    o: AuthServiceOptions,
    refresh: Model<RefreshToken>,
    resets: Model<PasswordReset>,
    decoy: string,
  ) {
    this.#o = o;
    this.#refresh = refresh;
    this.#resets = resets;
    this.#decoyHash = decoy;
    this.#purgeTimer = setInterval(
      () => this.#inBackground(this.purgeExpired(), 'purging expired tokens failed'),
      o.purgeIntervalMs ?? 3_600_000,
    );
    this.#purgeTimer.unref();

    // Sessions end with the account: disabling, deleting, or an admin's password change revoke them.
    const revoke = (userId: string): void =>
      this.#inBackground(this.revokeAll(userId), 'revoking the sessions of a user failed');
    o.events.on('user.disabled', (user) => revoke(user.id));
    o.events.on('user.deleted', (user) => revoke(user.id));
    o.events.on('user.updated', (user, changed) => {
      if (changed.includes('password')) revoke(user.id);
    });
  }

  /** Work nobody awaits (an event handler, a timer): a failure is logged, never an unhandled rejection. */
  #inBackground(task: Promise<unknown>, what: string): void {
    task.catch((err: unknown) => this.#o.logger.error({ err }, what));
  }

  static async create(o: AuthServiceOptions): Promise<AuthService> {
    const refresh =
      (o.connection.models.RefreshToken as Model<RefreshToken> | undefined) ??
      o.connection.model<RefreshToken>('RefreshToken', refreshSchema);
    const resets =
      (o.connection.models.PasswordReset as Model<PasswordReset> | undefined) ??
      o.connection.model<PasswordReset>('PasswordReset', resetSchema);
    await Promise.all([refresh.init(), resets.init()]);
    return new AuthService(o, refresh, resets, await hashPassword(randomUUID()));
  }

  async login(extension: string, password: string): Promise<Session> {
    const user = await this.#o.users.findOne({ extension }).lean();
    const ok = await verifyPassword(password, user?.passwordHash ?? this.#decoyHash);
    if (!user || !ok || user.disabled) throw invalidCredentials();
    return this.#issue(String(user._id), randomUUID());
  }

  /** Rotates the presented refresh token. Reuse of an already rotated token revokes its whole family. */
  async refresh(presented: string | undefined): Promise<Session> {
    if (!presented) throw new UnauthenticatedError('No refresh token');
    const now = new Date(this.#o.clock.now());
    const record = await this.#refresh.findOne({ tokenHash: sha256(presented) }).lean();
    if (!record) throw new UnauthenticatedError('Unknown refresh token');
    if (record.replacedAt || record.revokedAt) {
      await this.#revokeFamily(record.familyId, now);
      this.#o.logger.warn({ userId: record.userId }, 'refresh token reused; session family revoked');
      throw new UnauthenticatedError('Refresh token already used; please log in again');
    }
    if (record.expiresAt <= now) throw new UnauthenticatedError('Refresh token expired');

    // Conditional update: of two concurrent refreshes with the same token only one wins; the other is a reuse.
    const claimed = await this.#refresh.updateOne(
      { _id: record._id, replacedAt: { $exists: false }, revokedAt: { $exists: false } },
      { $set: { replacedAt: now } },
    );
    if (claimed.modifiedCount !== 1) {
      await this.#revokeFamily(record.familyId, now);
      throw new UnauthenticatedError('Refresh token already used; please log in again');
    }
    const user = await this.#o.users.findById(record.userId, { disabled: 1 }).lean();
    if (!user || user.disabled) {
      await this.#revokeFamily(record.familyId, now);
      throw new UnauthenticatedError('This account is no longer active');
    }
    return this.#issue(record.userId, record.familyId);
  }

  /** Ends the session the refresh token belongs to. Unknown tokens are ignored: logging out always succeeds. */
  async logout(presented: string | undefined): Promise<void> {
    if (!presented) return;
    const record = await this.#refresh.findOne({ tokenHash: sha256(presented) }, { familyId: 1 }).lean();
    if (record) await this.#revokeFamily(record.familyId, new Date(this.#o.clock.now()));
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
    await this.#o.users.updateOne(
      { _id: user._id },
      { $set: { passwordHash: await hashPassword(newPassword) } },
    );
    const keep = presentedRefresh
      ? (await this.#refresh.findOne({ tokenHash: sha256(presentedRefresh), userId }, { familyId: 1 }).lean())
          ?.familyId
      : undefined;
    await this.#refresh.updateMany(
      { userId, revokedAt: { $exists: false }, ...(keep ? { familyId: { $ne: keep } } : {}) },
      { $set: { revokedAt: new Date(this.#o.clock.now()) } },
    );
  }

  /**
   * Starts password recovery. The caller always gets the same answer; the lookup and the mail happen after the
   * response so that timing does not reveal which extensions exist.
   */
  recover(extension: string): void {
    void this.#sendRecovery(extension).catch((err: unknown) => {
      this.#o.logger.error({ err }, 'password recovery mail failed');
    });
  }

  async resetPassword(token: string, password: string): Promise<void> {
    const now = new Date(this.#o.clock.now());
    const invalid = new ValidationError('This reset link is invalid or has expired', [
      { path: 'token', message: 'invalid or expired' },
    ]);
    // Claim the token in one conditional update, so it can be used only once even under concurrency.
    const record = await this.#resets
      .findOneAndUpdate(
        { tokenHash: sha256(token), usedAt: { $exists: false }, expiresAt: { $gt: now } },
        { $set: { usedAt: now } },
      )
      .lean();
    if (!record) throw invalid;
    const user = await this.#o.users.findById(record.userId, { disabled: 1 }).lean();
    if (!user || user.disabled) throw invalid;
    await this.#o.users.updateOne(
      { _id: user._id },
      { $set: { passwordHash: await hashPassword(password) } },
    );
    await this.revokeAll(record.userId);
  }

  async revokeAll(userId: string): Promise<void> {
    await this.#refresh.updateMany(
      { userId, revokedAt: { $exists: false } },
      { $set: { revokedAt: new Date(this.#o.clock.now()) } },
    );
  }

  /** Deletes expired refresh and reset tokens. FerretDB has no TTL indexes, so this runs on a timer. */
  async purgeExpired(): Promise<void> {
    if (this.#closed) return;
    const now = new Date(this.#o.clock.now());
    await Promise.all([
      this.#refresh.deleteMany({ expiresAt: { $lte: now } }),
      this.#resets.deleteMany({ expiresAt: { $lte: now } }),
    ]).catch((err: unknown) => this.#o.logger.warn({ err }, 'token purge failed'));
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#purgeTimer);
  }

  async #issue(userId: string, familyId: string): Promise<Session> {
    const user = await this.#o.users.findById(userId).lean();
    if (!user) throw invalidCredentials();
    const refreshToken = newOpaqueToken();
    const now = this.#o.clock.now();
    const refreshExpiresAt = new Date(now + this.#o.refreshTtlMs);
    await this.#refresh.create({
      tokenHash: sha256(refreshToken),
      userId,
      familyId,
      expiresAt: refreshExpiresAt,
      createdAt: new Date(now),
    });
    const access = this.#o.tokens.signAccess({ userId, extension: user.extension });
    const pub = toPublicUser(user);
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

  async #revokeFamily(familyId: string, now: Date): Promise<void> {
    await this.#refresh.updateMany({ familyId, revokedAt: { $exists: false } }, { $set: { revokedAt: now } });
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
