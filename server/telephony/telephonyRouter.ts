import { Router } from 'express';
import { callRoutes, telephonyRoutes } from '../../shared/rest/contract.js';
import { classifyDial } from '../../shared/phoneNumber.js';
import type { ClickToCallView, SipPasswordView } from '../../shared/schemas/calls.js';
import { requireUser, userOf } from '../auth/authMiddleware.js';
import type { UserModel } from '../directory/User.js';
import { ServiceUnavailableError, ValidationError } from '../errors.js';
import type { BodyParsers } from '../http/bodyParsers.js';
import { on, reply } from '../http/typedRoute.js';
import type { DialPlan } from '../stack/kamailioDialPlan.js';
import type { CallLog } from './CallLog.js';
import type { PbxAdapter } from './PbxAdapter.js';
import { SIP_WS_PATH, type SipWebSocketProxy } from './SipWebSocketProxy.js';

export interface TelephonyRouterDeps {
  /** Undefined when no PBX is configured: the call APIs answer 503. */
  pbx: PbxAdapter | undefined;
  callLog: CallLog;
  users: UserModel;
  /** Where desk phones register, for the one-time password answer. */
  registrar: string | undefined;
  /** How typed numbers are read, and whether external ones have a trunk; undefined without a PBX. */
  dialPlan: DialPlan | undefined;
  /** SIP over WebSocket on the app's own origin: wsUrl points there, with a fresh ticket. */
  sipWs: SipWebSocketProxy;
  /** Told to the web phone: how long its call outlives a lost connection (the server's WebCallGuard). */
  reconnectGraceMs: number;
}

function pbxOf(deps: TelephonyRouterDeps): PbxAdapter {
  if (!deps.pbx) throw new ServiceUnavailableError('Telephony is not configured on this server');
  return deps.pbx;
}

/** /api/calls: "Chiamate recenti", its missed-calls badge, and click-to-call. */
export function callsRouter(deps: TelephonyRouterDeps, body: Pick<BodyParsers, 'json'>): Router {
  const router = Router();
  router.use(requireUser());

  // The records are in the database: the list stays readable while the PBX is down.
  on(router, callRoutes.list, [], async ({ query }, _req, res) =>
    reply(200, await deps.callLog.list(userOf(res).userId, query)),
  );

  on(router, callRoutes.missed, [], async (_input, _req, res) =>
    reply(200, await deps.callLog.missed(userOf(res).userId)),
  );

  on(router, callRoutes.seen, [], async (_input, _req, res) =>
    reply(200, await deps.callLog.markSeen(userOf(res).userId)),
  );

  on(router, callRoutes.clickToCall, [body.json], async ({ body: { number: typed } }, _req, res) => {
    const me = userOf(res);
    const pbx = pbxOf(deps);
    const plan = deps.dialPlan;
    const compact = typed.replace(/^\+/, '');
    const colleague = await deps.users.findOne({ extension: compact }, { extension: 1, disabled: 1 }).lean();
    const target = classifyDial(typed, plan?.country ?? 'IT', (digits) => digits === colleague?.extension);
    const invalid = (message: string): ValidationError =>
      new ValidationError('Invalid call', [{ path: 'number', message }]);
    if (target.kind === 'invalid') throw invalid(target.message);
    if (target.kind === 'extension') {
      if (target.number === me.extension) throw invalid('is your own extension');
      if (colleague?.disabled) throw invalid('is a disabled extension');
    } else if (!plan?.trunkUri) {
      throw invalid('is an external number, and no trunk for external calls is configured');
    }
    // The phone dials the E.164 form; Kamailio's route[TRUNK] adds the outbound prefix for the trunk.
    const number = target.kind === 'extension' ? target.number : target.e164;
    deps.callLog.expectClickToCall(me.extension, number);
    await pbx.clickToCall({ id: me.userId, extension: me.extension }, number);
    const view: ClickToCallView = { from: me.extension, number, internal: target.kind === 'extension' };
    return reply(202, view);
  });

  return router;
}

/** /api/telephony: the caller's phone settings. */
export function telephonyRouter(deps: TelephonyRouterDeps): Router {
  const router = Router();
  router.use(requireUser());

  on(router, telephonyRoutes.me, [], async (_input, req, res) => {
    const me = userOf(res);
    // No PBX configured on this server: a plain "off", so that the web phone stays quiet (not an outage).
    if (!deps.pbx) {
      const off = {
        enabled: false,
        wsUrl: '',
        sipUri: '',
        domain: '',
        realm: '',
        ha1: '',
        reconnectGraceMs: 0,
      };
      return reply(200, { ...off, extension: me.extension, authorizationUser: me.extension });
    }
    const settings = await deps.pbx.webPhoneSettings({ id: me.userId, extension: me.extension });
    // The origin the page used (the client keeps its own origin's scheme and host anyway, behind a proxy).
    const scheme = req.protocol === 'https' ? 'wss' : 'ws';
    const ticket = encodeURIComponent(deps.sipWs.ticket(me.userId));
    res.setHeader('Cache-Control', 'no-store');
    return reply(200, {
      ...settings,
      reconnectGraceMs: deps.reconnectGraceMs,
      wsUrl: `${scheme}://${req.get('host') ?? 'localhost'}${SIP_WS_PATH}?ticket=${ticket}`,
    });
  });

  // A new password for a desk phone: answered once, only its HA1 is kept. The old one stops working.
  on(router, telephonyRoutes.resetPassword, [], async (_input, _req, res) => {
    const me = userOf(res);
    const pbx = pbxOf(deps);
    const password = await pbx.resetPassword({ id: me.userId, extension: me.extension });
    const view: SipPasswordView = {
      extension: me.extension,
      domain: pbx.domain,
      password,
      registrar: deps.registrar ?? pbx.domain,
    };
    res.setHeader('Cache-Control', 'no-store');
    return reply(201, view);
  });

  return router;
}
