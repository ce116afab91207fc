/**
 * Zod schemas of what the call and phone routes answer (issue #14), checked against the interfaces of
 * `shared/schemas/calls.ts` like those of views.ts.
 */
import { z } from 'zod';
import {
  CALL_OUTCOMES,
  type CallsView,
  type ClickToCallView,
  type MissedCallsView,
  type SipPasswordView,
  type TelephonySettingsView,
} from '../schemas/calls.js';

const callPartyViewSchema = z.strictObject({ number: z.string(), name: z.string().optional() });

export const callRecordViewSchema = z.strictObject({
  id: z.string(),
  direction: z.enum(['incoming', 'outgoing']),
  peerNumber: z.string(),
  peerName: z.string().optional(),
  outcome: z.enum(CALL_OUTCOMES),
  sipCode: z.number().int().optional(),
  startedAt: z.string(),
  answeredAt: z.string().optional(),
  endedAt: z.string().optional(),
  durationSec: z.number(),
  queue: z.string().optional(),
  clickToCall: z.boolean(),
  external: z.boolean(),
  transferredBy: callPartyViewSchema.optional(),
  transferredTo: callPartyViewSchema.optional(),
});

export const callsViewSchema = z.strictObject({ calls: z.array(callRecordViewSchema) });

export const missedCallsViewSchema = z.strictObject({
  missed: z.number().int().min(0),
  seenAt: z.string().optional(),
});

export const clickToCallViewSchema = z.strictObject({
  from: z.string(),
  number: z.string(),
  internal: z.boolean(),
});

export const telephonySettingsViewSchema = z.strictObject({
  enabled: z.boolean(),
  wsUrl: z.string(),
  sipUri: z.string(),
  domain: z.string(),
  extension: z.string(),
  authorizationUser: z.string(),
  realm: z.string(),
  ha1: z.string(),
  reconnectGraceMs: z.number().int(),
});

export const sipPasswordViewSchema = z.strictObject({
  extension: z.string(),
  domain: z.string(),
  password: z.string(),
  registrar: z.string(),
});

// Compile-time: each schema and its interface accept the same values, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function same<T extends true>(_: T): void {}
same<Same<z.infer<typeof callsViewSchema>, CallsView>>(true);
same<Same<z.infer<typeof missedCallsViewSchema>, MissedCallsView>>(true);
same<Same<z.infer<typeof clickToCallViewSchema>, ClickToCallView>>(true);
same<Same<z.infer<typeof telephonySettingsViewSchema>, TelephonySettingsView>>(true);
same<Same<z.infer<typeof sipPasswordViewSchema>, SipPasswordView>>(true);
