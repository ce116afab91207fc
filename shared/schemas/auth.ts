import { z } from 'zod';
import { extensionSchema, passwordSchema, type PublicUser } from './directory.js';

/** POST /api/auth/login. The password is not length-checked here: a wrong one is INVALID_CREDENTIALS. */
export const loginRequestSchema = z.strictObject({
  extension: extensionSchema,
  password: z.string().min(1).max(200),
});
export type LoginRequest = z.infer<typeof loginRequestSchema>;

export interface LoginResponse {
  accessToken: string;
  expiresInMs: number;
  user: Pick<PublicUser, 'id' | 'extension' | 'firstName' | 'lastName' | 'plan' | 'role'>;
}

/** POST /api/auth/password */
export const changePasswordSchema = z.strictObject({
  currentPassword: z.string().min(1).max(200),
  newPassword: passwordSchema,
});

/** POST /api/auth/recover: always answered 202, whether or not the extension exists. */
export const recoverRequestSchema = z.strictObject({ extension: extensionSchema });

/** POST /api/auth/reset */
export const resetRequestSchema = z.strictObject({
  token: z.string().min(20).max(200),
  password: passwordSchema,
});
