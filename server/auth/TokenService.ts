import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { UnauthenticatedError } from '../errors.js';

/** Separate audiences: an access token is never a guest token, and the reverse. */
export const USER_AUDIENCE = 'ucc:user';
export const GUEST_AUDIENCE = 'ucc:guest';
const ISSUER = 'opivoice-ucc';

const accessClaimsSchema = z.object({ sub: z.string(), ext: z.string(), sid: z.string().optional() });
const expirySchema = z.object({ exp: z.number() });
const guestClaimsSchema = z.object({
  sub: z.string(),
  mid: z.string(),
  name: z.string(),
  v: z.number().int(),
});

export interface AccessClaims {
  userId: string;
  extension: string;
  /** The login session (refresh-token family) the token was issued for; absent on tokens minted elsewhere. */
  sessionId?: string;
}

export interface GuestClaims {
  guestId: string;
  meetingId: string;
  displayName: string;
  /** The meeting's guest-link version when the token was issued: rotating the link retires older tokens. */
  linkVersion: number;
}

export interface TokenServiceOptions {
  secret: string;
  accessTtlMs: number;
  guestTtlMs: number;
  clock: Clock;
}

/** Signs and checks the short-lived JWTs (HS256). Refresh tokens are opaque and live in the database instead. */
export class TokenService {
  readonly #options: TokenServiceOptions;
  /**
   * The secret as a KeyObject, made once: given a string, jsonwebtoken first tries it as a PEM key and throws,
   * on every sign and verify; building that error (its stack) cost about a millisecond per request.
   */
  readonly #key: KeyObject;

  constructor(options: TokenServiceOptions) {
    this.#options = options;
    this.#key = createSecretKey(Buffer.from(options.secret));
  }

  get accessTtlMs(): number {
    return this.#options.accessTtlMs;
  }

  signAccess(claims: AccessClaims): { token: string; expiresInMs: number } {
    const token = this.#sign(
      {
        sub: claims.userId,
        ext: claims.extension,
        ...(claims.sessionId === undefined ? {} : { sid: claims.sessionId }),
      },
      USER_AUDIENCE,
      this.#options.accessTtlMs,
    );
    return { token, expiresInMs: this.#options.accessTtlMs };
  }

  verifyAccess(token: string): AccessClaims {
    const payload = claims(accessClaimsSchema, this.#verify(token, USER_AUDIENCE));
    const out: AccessClaims = { userId: payload.sub, extension: payload.ext };
    if (payload.sid !== undefined) out.sessionId = payload.sid;
    return out;
  }

  /** When a token that verified (access or guest) stops being valid, in ms since the epoch. */
  expiresAt(token: string): number {
    const parsed = expirySchema.safeParse(jwt.decode(token));
    if (!parsed.success) throw new UnauthenticatedError('Invalid token');
    return parsed.data.exp * 1000;
  }

  /**
   * The refresh token that replaces `token`, derived from it with the secret. Deterministic on purpose: a
   * refresh repeated within the grace window (two tabs at once) gets the very same successor, without the
   * server keeping any token in clear.
   */
  successorOf(token: string): string {
    return createHmac('sha256', this.#options.secret)
      .update(`refresh-successor:${token}`)
      .digest('base64url');
  }

  signGuest(claims: GuestClaims): { token: string; expiresInMs: number } {
    const token = this.#sign(
      { sub: claims.guestId, mid: claims.meetingId, name: claims.displayName, v: claims.linkVersion },
      GUEST_AUDIENCE,
      this.#options.guestTtlMs,
    );
    return { token, expiresInMs: this.#options.guestTtlMs };
  }

  verifyGuest(token: string): GuestClaims {
    const payload = claims(guestClaimsSchema, this.#verify(token, GUEST_AUDIENCE));
    return {
      guestId: payload.sub,
      meetingId: payload.mid,
      displayName: payload.name,
      linkVersion: payload.v,
    };
  }

  #sign(payload: object, audience: string, ttlMs: number): string {
    const iat = Math.floor(this.#options.clock.now() / 1000);
    return jwt.sign({ ...payload, iat, exp: iat + Math.floor(ttlMs / 1000) }, this.#key, {
      algorithm: 'HS256',
      audience,
      issuer: ISSUER,
    });
  }

  #verify(token: string, audience: string): unknown {
    try {
      return jwt.verify(token, this.#key, {
        algorithms: ['HS256'],
        audience,
        issuer: ISSUER,
        clockTimestamp: Math.floor(this.#options.clock.now() / 1000),
      });
    } catch {
      throw new UnauthenticatedError('Invalid or expired token');
    }
  }
}

function claims<S extends z.ZodType>(schema: S, payload: unknown): z.infer<S> {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) throw new UnauthenticatedError('Invalid token');
  return parsed.data;
}
