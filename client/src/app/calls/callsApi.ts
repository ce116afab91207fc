/** "Chiamate recenti"'s REST calls (shared/rest/callsContract.ts), over the app's authenticated helper. */
import type {
  CALL_FILTERS,
  CallRecordView,
  CallsView,
  MissedCallsView,
} from '../../../../shared/schemas/calls.js';
import { api } from '../api/api.js';

export type { CallRecordView, MissedCallsView };
export type CallFilter = (typeof CALL_FILTERS)[number];

/**
 * The filters in the manual's order (tutte, ricevute, perse, effettuate, da coda); restated rather than imported,
 * which would bring zod into the bundle; `satisfies` keeps each one a filter of the contract.
 */
export const FILTERS = [
  'all',
  'received',
  'missed',
  'outgoing',
  'queue',
] as const satisfies readonly CallFilter[];

export function listCalls(filter: CallFilter, q: string): Promise<CallsView> {
  const params = new URLSearchParams({ filter });
  if (q.trim()) params.set('q', q.trim());
  return api<CallsView>('GET', `/api/calls?${params.toString()}`);
}

export function missedCalls(): Promise<MissedCallsView> {
  return api<MissedCallsView>('GET', '/api/calls/missed');
}

export function markCallsSeen(): Promise<MissedCallsView> {
  return api<MissedCallsView>('POST', '/api/calls/seen');
}

/**
 * Rang and nobody answered, seen from the user's side: shown in red, as the manual's "perse" (the server's
 * filter and badge count the same). A call the user's phone turned down (busy, rejected) is not missed.
 */
export function isMissed(call: Pick<CallRecordView, 'direction' | 'outcome'>): boolean {
  return call.direction === 'incoming' && call.outcome === 'missed';
}
