/**
 * The phone's part of the REST contract (contract.ts puts every area together): "Chiamate recenti",
 * click-to-call and the caller's phone settings. While no PBX is configured, or Kamailio or rtpengine is down,
 * the PBX routes answer 503; the call list is read from the database and stays available.
 */
import { callsQuerySchema, clickToCallSchema, missedCallsQuerySchema } from '../schemas/calls.js';
import {
  callsViewSchema,
  clickToCallViewSchema,
  missedCallsViewSchema,
  sipPasswordViewSchema,
  telephonySettingsViewSchema,
} from './callViews.js';
import { route } from './route.js';
import { JSON_BODY, USER } from './statuses.js';

export const callRoutes = {
  list: route({
    method: 'get',
    mount: '/api/calls',
    path: '/',
    summary: "The caller's last 100 calls, newest first, filtered and searched",
    auth: 'user',
    query: callsQuerySchema,
    success: { 200: callsViewSchema },
    errors: [...USER, 400],
  }),
  missed: route({
    method: 'get',
    mount: '/api/calls',
    path: '/missed',
    summary: 'How many calls the caller missed since they last looked at the list (the badge)',
    auth: 'user',
    query: missedCallsQuerySchema,
    success: { 200: missedCallsViewSchema },
    errors: [...USER, 400],
  }),
  seen: route({
    method: 'post',
    mount: '/api/calls',
    path: '/seen',
    summary: "Marks the caller's missed calls as seen, up to now; their other devices are told",
    auth: 'user',
    success: { 200: missedCallsViewSchema },
    errors: USER,
  }),
  clickToCall: route({
    method: 'post',
    mount: '/api/calls',
    path: '/click-to-call',
    summary: "Rings the caller's own phone, then connects it to the number",
    auth: 'user',
    body: clickToCallSchema,
    success: { 202: clickToCallViewSchema },
    errors: [...USER, ...JSON_BODY],
  }),
};

export const telephonyRoutes = {
  me: route({
    method: 'get',
    mount: '/api/telephony',
    path: '/me',
    summary: "What the caller's web phone needs to register (digest HA1, never the password)",
    auth: 'user',
    success: { 200: telephonySettingsViewSchema },
    errors: USER,
  }),
  resetPassword: route({
    method: 'post',
    mount: '/api/telephony',
    path: '/me/password',
    summary: "A new SIP password for the caller's desk phone, shown this once; the old one stops working",
    auth: 'user',
    success: { 201: sipPasswordViewSchema },
    errors: USER,
  }),
};
