import { AppError } from '../errors.js';

/** The directory's refusals, one message per case; statuses come from the shared table (`AppError.of`). */
export const noSuchUser = (): AppError => AppError.of('NOT_FOUND', 'No such user');
export const extensionTaken = (extension: string): AppError =>
  AppError.of('CONFLICT', `Extension ${extension} already exists`);
export const lastAdmin = (): AppError =>
  AppError.of('CONFLICT', 'The last active administrator cannot be removed, demoted or disabled');
/** Users and call queues share one numbering plan (NumberPlan): `holder` says who has the number. */
export const numberInUse = (number: string, holder: string, field: string): AppError =>
  AppError.of('CONFLICT', `${number} is already ${holder}`, [
    { path: field, message: `is already ${holder}` },
  ]);
