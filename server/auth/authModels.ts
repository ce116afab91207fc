import { Schema, type Connection, type Model } from 'mongoose';

/**
 * A refresh token, stored only as its SHA-256. Tokens of one login form a family (the session): each refresh
 * replaces the presented token by its successor in the same family. The documents are written once and never
 * updated: FerretDB v1 rewrites whole documents without atomic read-modify-write, so every single-use decision is
 * an insert into `authclaims` under a unique `_id` instead (see AuthClaim).
 */
export interface RefreshToken {
  tokenHash: string;
  userId: string;
  familyId: string;
  expiresAt: Date;
  /** Set by releases before the claims; still honoured so that old revocations hold. */
  replacedAt?: Date;
  revokedAt?: Date;
  createdAt: Date;
}

export interface PasswordReset {
  tokenHash: string;
  userId: string;
  expiresAt: Date;
  /** Set by releases before the claims; still honoured. */
  usedAt?: Date;
}

/**
 * A one-time decision, taken by inserting its `_id` (a unique insert is atomic on FerretDB too):
 * `refresh:<tokenHash>` (that refresh token was rotated), `reset:<tokenHash>` (that reset link was used),
 * `revoked:<familyId>` (that session ended). Kept until `expiresAt`, when what it guards has expired anyway.
 */
export interface AuthClaim {
  _id: string;
  userId: string;
  familyId?: string;
  at: Date;
  expiresAt: Date;
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

const claimSchema = new Schema<AuthClaim>({
  _id: { type: String, required: true },
  userId: { type: String, required: true },
  familyId: String,
  at: { type: Date, required: true },
  expiresAt: { type: Date, required: true },
});
claimSchema.index({ expiresAt: 1 });

export interface AuthModels {
  refresh: Model<RefreshToken>;
  resets: Model<PasswordReset>;
  claims: Model<AuthClaim>;
}

/** The auth collections on this connection (registered once per connection). */
export function authModels(connection: Connection): AuthModels {
  const model = <T>(name: string, schema: Schema<T>): Model<T> =>
    (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema);
  return {
    refresh: model('RefreshToken', refreshSchema),
    resets: model('PasswordReset', resetSchema),
    claims: model('AuthClaim', claimSchema),
  };
}
