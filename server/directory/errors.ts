import { AppError } from '../errors.js';

/** The directory's refusals, one message per case; statuses come from the shared table (`AppError.of`). */
export const noSuchUser = (): AppError => AppError.of('NOT_FOUND', 'No such user');
export const extensionTaken = (extension: string): AppError =>
  AppError.of('CONFLICT', `Extension ${extension} already exists`);
export const lastAdmin = (): AppError =>
  AppError.of('CONFLICT', 'The last active administrator cannot be removed, demoted or disabled');
