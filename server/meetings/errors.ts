import { AppError, ForbiddenError, NotFoundError } from '../errors.js';

/**
 * The meetings domain's refusals, made in one place so a code keeps one message and its status comes from the
 * shared table (`AppError.of`). The gate, the rules, moderation, media and the meetings service all throw these.
 */
export const meetingNotFound = (): AppError => AppError.of('MEETING_NOT_FOUND', 'No such meeting');
export const guestLinkNotValid = (): AppError =>
  AppError.of('MEETING_NOT_FOUND', 'This meeting link is not valid');
export const meetingExpired = (): AppError =>
  AppError.of('MEETING_EXPIRED', 'This meeting has ended its scheduled time');
export const meetingEnded = (): AppError => AppError.of('MEETING_ENDED', 'The organizer ended this meeting');
export const meetingCancelled = (): AppError =>
  AppError.of('MEETING_CANCELLED', 'This meeting was cancelled');
export const removedFromMeeting = (): AppError =>
  AppError.of('REMOVED_FROM_MEETING', 'The organizer removed you from this meeting');
export const meetingFull = (what: 'meeting' | 'waiting room'): AppError =>
  AppError.of('MEETING_FULL', `The ${what} is full`);
export const inAnotherMeeting = (): AppError =>
  AppError.of('CONFLICT', 'This connection is already in another meeting');
export const noSuchParticipant = (): AppError => AppError.of('NOT_FOUND', 'No such participant');
export const noSuchWaiter = (): AppError => new NotFoundError('Nobody with this id is waiting');

/** Dial-in: a PIN of the wrong form, and one no open meeting has (the caller hears the same prompt for both). */
export const pinInvalid = (): AppError => AppError.of('PIN_INVALID', 'A meeting PIN is 9 to 12 digits');
export const pinUnknown = (): AppError => AppError.of('PIN_UNKNOWN', 'No open meeting has this PIN');
/** Start-up: the configured dial-in extension is already someone's number. */
export const dialInExtensionTaken = (extension: string, holder = 'taken'): AppError =>
  AppError.of(
    'CONFLICT',
    `UCC_DIALIN_EXTENSION ${extension} is already ${holder}: set UCC_DIALIN_EXTENSION to a free number, or renumber that one`,
    [{ path: 'UCC_DIALIN_EXTENSION', message: `is already ${holder}` }],
  );

export const notInvited = (): AppError => new ForbiddenError('You are not invited to this meeting');
export const organizerOnly = (): AppError => new ForbiddenError('Only the organizer can do this');
/** Media and in-call chat requests need an admitted participant. */
export const notAdmitted = (): AppError => new ForbiddenError('Join the meeting first');
export const micLocked = (): AppError => new ForbiddenError('The organizer muted your microphone');
