import { z } from 'zod';
import { objectIdSchema } from './directory.js';
import { guestCodeSchema } from './meetings.js';

/**
 * Every socket request is one `request` event whose payload is this discriminated union. The server checks it
 * with zod and handles it in one switch with an exhaustive default.
 */
export const clientRequestSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('hello'), client: z.string().trim().min(1).max(64) }),
  z.strictObject({
    type: z.literal('meeting.join'),
    meetingId: objectIdSchema,
    /** Lets a colleague who was not invited join with the meeting's link. */
    guestCode: guestCodeSchema.optional(),
    /** The credential handed out at the previous join: lets a dropped participant back in after the end time. */
    rejoinToken: z.string().min(20).max(100).optional(),
  }),
  z.strictObject({ type: z.literal('meeting.leave') }),
  z.strictObject({ type: z.literal('meeting.removeParticipant'), participantId: z.uuid() }),
  z.strictObject({ type: z.literal('meeting.end') }),
]);

export type ClientRequest = z.infer<typeof clientRequestSchema>;
export type ClientRequestType = ClientRequest['type'];
