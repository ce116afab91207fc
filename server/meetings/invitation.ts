import ical, {
  ICalAlarmType,
  ICalAttendeeRole,
  ICalAttendeeStatus,
  ICalCalendarMethod,
  ICalEventStatus,
  type ICalCalendar,
} from 'ical-generator';
import { groupPinDigits, type DialInInfo } from '../../shared/dialIn.js';

export interface InvitationInput {
  meetingId: string;
  method: 'REQUEST' | 'CANCEL';
  title: string;
  description: string;
  startAt: Date;
  endAt: Date;
  sequence: number;
  joinUrl: string;
  /** How to join by phone; left out of a cancellation. */
  dialIn?: DialInInfo | undefined;
  organizer: { name: string; email?: string | undefined };
  attendees: { name: string; extension: string; email?: string | undefined }[];
}

/**
 * Colleagues without an email still appear as attendees. iCalendar needs an address for each; `.invalid` is the
 * top-level domain reserved for addresses that must never resolve, so no client tries to mail them.
 */
function addressOf(person: { extension: string; email?: string | undefined }): string {
  return person.email ?? `ext-${person.extension}@ucc.invalid`;
}

/** The invitation's line for joining by phone, the PIN grouped in threes as it is read and typed. */
export function dialInLine(dialIn: DialInInfo): string {
  return `Partecipa per telefono: chiama ${dialIn.extension}, PIN ${groupPinDigits(dialIn.pin)}`;
}

/** The iCalendar invitation (or cancellation) of a meeting: stable UID, SEQUENCE, UTC times, a 10-minute alarm. */
export function buildInvitation(input: InvitationInput): ICalCalendar {
  const calendar = ical({
    name: 'OpiVoice UCC',
    prodId: { company: 'OpiVoice', product: 'UCC', language: 'IT' },
    method: input.method === 'CANCEL' ? ICalCalendarMethod.CANCEL : ICalCalendarMethod.REQUEST,
  });
  const event = calendar.createEvent({
    id: `${input.meetingId}@opivoice-ucc`,
    sequence: input.sequence,
    start: input.startAt,
    end: input.endAt,
    summary: input.title,
    description: [
      input.description,
      '',
      `Partecipa al meeting: ${input.joinUrl}`,
      ...(input.dialIn ? [dialInLine(input.dialIn)] : []),
    ]
      .join('\n')
      .trim(),
    url: input.joinUrl,
    status: input.method === 'CANCEL' ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
    organizer: { name: input.organizer.name, email: input.organizer.email ?? 'no-reply@ucc.invalid' },
  });
  for (const attendee of input.attendees) {
    event.createAttendee({
      name: attendee.name,
      email: addressOf(attendee),
      role: ICalAttendeeRole.REQ,
      status: ICalAttendeeStatus.NEEDSACTION,
      rsvp: true,
    });
  }
  if (input.method === 'REQUEST') {
    event.createAlarm({ type: ICalAlarmType.display, trigger: 600, description: input.title });
  }
  return calendar;
}
