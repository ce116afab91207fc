import type { AdmissionGate } from '../meetings/AdmissionGate.js';
import { notAdmitted, organizerOnly } from '../meetings/errors.js';
import type { UccSocket } from './sockets.js';

export interface Seat {
  meetingId: string;
  participantId: string;
  isOrganizer: boolean;
}

/** Media and meeting-chat requests need an admitted participant. */
export function seatOf(gate: AdmissionGate, socket: UccSocket): Seat {
  const seat = gate.participantOf(socket.id);
  if (!seat) throw notAdmitted();
  return seat;
}

/** Moderation of media needs the organizer's seat. */
export function organizerSeatOf(gate: AdmissionGate, socket: UccSocket): Seat {
  const seat = seatOf(gate, socket);
  if (!seat.isOrganizer) throw organizerOnly();
  return seat;
}
