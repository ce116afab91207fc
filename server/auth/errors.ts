import { AppError } from '../errors.js';

/** The auth domain's refusals, one message per case; statuses come from the shared table (`AppError.of`). */
export const invalidCredentials = (): AppError =>
  AppError.of('INVALID_CREDENTIALS', 'Wrong extension or password');
export const sessionEnded = (): AppError =>
  AppError.of('UNAUTHENTICATED', 'This session has ended; please log in again');
export const refreshTokenReused = (): AppError =>
  AppError.of('UNAUTHENTICATED', 'Refresh token already used; please log in again');
export const accountInactive = (): AppError =>
  AppError.of('UNAUTHENTICATED', 'This account is no longer active');
