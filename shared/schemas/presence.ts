import { z } from 'zod';
import { objectIdSchema } from './directory.js';

/**
 * What colleagues see of a user (issue #14): `onCall` while the user is in a live call (from its first INVITE,
 * ringing included, until it ends or fails), as caller or callee; else `inMeeting` while a participant of a live
 * meeting; else `available` while at least one phone (web or desk) is registered; else `offline` ("Non
 * connesso": no SIP registration at all, which is also what a closed web phone looks like).
 */
export const PRESENCE_STATES = ['available', 'onCall', 'inMeeting', 'offline'] as const;
export type PresenceState = (typeof PRESENCE_STATES)[number];

export interface PresenceView {
  userId: string;
  extension: string;
  state: PresenceState;
}

/** The most ids one read takes: a screen of list rows, not the whole directory. */
export const PRESENCE_MAX_IDS = 200;

/** `?ids=a,b,c`: user ids, comma separated. */
export const presenceQuerySchema = z.strictObject({
  ids: z
    .string()
    .max(PRESENCE_MAX_IDS * 25)
    // Ids are hex: anything else is refused before splitting (and keeps the URL within Node's header limit).
    .regex(/^[0-9a-fA-F, ]*$/, 'must be user ids separated by commas')
    .transform((s) => [
      ...new Set(
        s
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x !== ''),
      ),
    ])
    .pipe(z.array(objectIdSchema).min(1).max(PRESENCE_MAX_IDS)),
});
export type PresenceQuery = z.infer<typeof presenceQuerySchema>;
