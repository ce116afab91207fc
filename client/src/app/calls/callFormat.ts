/** How a call row reads: its day ("oggi", "ieri", "3 ago"), its time, its length and its peer. */
import type { CallRecordView } from '../../../../shared/schemas/calls.js';

export interface DayGroup {
  /** The local day, YYYY-MM-DD. */
  key: string;
  date: Date;
  calls: CallRecordView[];
}

function localDay(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** Consecutive calls of the same local day together; the list comes newest first and stays so. */
export function groupByDay(calls: CallRecordView[]): DayGroup[] {
  const groups: DayGroup[] = [];
  for (const call of calls) {
    const date = new Date(call.startedAt);
    const key = localDay(date);
    const last = groups[groups.length - 1];
    if (last?.key === key) last.calls.push(call);
    else groups.push({ key, date, calls: [call] });
  }
  return groups;
}

/** `today` / `yesterday` for those two days, else "3 ago" (with the year when it is not this year's). */
export function dayLabel(
  date: Date,
  now: Date,
  language: string,
  words: { today: string; yesterday: string },
): string {
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (localDay(date) === localDay(now)) return words.today;
  if (localDay(date) === localDay(yesterday)) return words.yesterday;
  return new Intl.DateTimeFormat(language, {
    day: 'numeric',
    month: 'short',
    ...(date.getFullYear() === now.getFullYear() ? {} : { year: 'numeric' }),
  }).format(date);
}

/** 10:50:25, as the manual's list shows the time. */
export function timeLabel(date: Date, language: string): string {
  return new Intl.DateTimeFormat(language, {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(date);
}

/** 0:07, 12:34 or 1:02:03. */
export function durationLabel(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** "Cognome Nome <951>" for a colleague, the number alone otherwise. */
export function peerLabel(call: Pick<CallRecordView, 'peerName' | 'peerNumber'>): string {
  return call.peerName ? `${call.peerName} <${call.peerNumber}>` : call.peerNumber;
}

/** The other end of a transfer, as a row names it: "Cognome Nome <ext>", or the number. */
export function partyLabel(party: { number: string; name?: string }): string {
  return party.name ? `${party.name} <${party.number}>` : party.number;
}
