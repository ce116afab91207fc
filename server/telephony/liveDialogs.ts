/** Kamailio's `dlg.list` (and the BYE counter next to it) read into what the server acts on. */
import type { DialogForBye, DialogLeg } from './calleeBye.js';

export interface LiveDialog extends DialogForBye {
  hEntry: number;
  hId: number;
  state: number;
  fromUser: string;
  toUser: string;
  /** The caller (callee) is on a WebSocket: that side is a web phone. */
  callerWs: boolean;
  calleeWs: boolean;
}

/**
 * `dlg.list`'s answer: one object a dialog, with `h_entry`, `h_id`, `call-id`, `from_uri`, `to_uri`, and the
 * dialog `variables` the config sets on a web phone's side (`ws_caller`, `ws_callee`).
 */
export function dialogsOf(result: unknown): LiveDialog[] {
  if (!Array.isArray(result)) return [];
  const out: LiveDialog[] = [];
  for (const d of result as Record<string, unknown>[]) {
    const { h_entry: hEntry, h_id: hId, from_uri: from, to_uri: to, 'call-id': callId, state } = d;
    if (typeof hEntry !== 'number' || typeof hId !== 'number') continue;
    out.push({
      hEntry,
      hId,
      state: typeof state === 'number' ? state : 0,
      callId: text(callId),
      fromUri: text(from),
      toUri: text(to),
      caller: legOf(d.caller),
      callee: legOf(d.callee),
      fromUser: userOf(from),
      // A queue call's callee is the member who answered, not the queue's number.
      toUser: dialogVarValue(d.variables, 'member') ?? userOf(to),
      callerWs: dialogVar(d.variables, 'ws_caller'),
      calleeWs: dialogVar(d.variables, 'ws_callee'),
    });
  }
  return out;
}

function legOf(leg: unknown): DialogLeg {
  const l = (typeof leg === 'object' && leg !== null ? leg : {}) as Record<string, unknown>;
  return {
    tag: text(l.tag),
    contact: text(l.contact),
    cseq: text(l.cseq),
    routeSet: text(l.route_set),
    socket: text(l.socket),
  };
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** `htable.get`'s answer: `{ item: { name, value } }`. */
export function byeCount(result: unknown): number {
  const value = (result as { item?: { value?: unknown } } | null | undefined)?.item?.value;
  return typeof value === 'number' ? value : 0;
}

/** Whether the generated config set a dialog variable (`variables`: `[{ name: value }, …]`). */
function dialogVar(variables: unknown, name: string): boolean {
  if (!Array.isArray(variables)) return false;
  return variables.some((v) => typeof v === 'object' && v !== null && name in v);
}

function dialogVarValue(variables: unknown, name: string): string | undefined {
  if (!Array.isArray(variables)) return undefined;
  for (const v of variables as unknown[]) {
    if (typeof v === 'object' && v !== null && name in v) {
      const value = (v as Record<string, unknown>)[name];
      if (typeof value === 'string') return value;
    }
  }
  return undefined;
}

/** The user part of `sip:201@ucc.test` (or of `<sip:201@…>;tag`). */
function userOf(uri: unknown): string {
  if (typeof uri !== 'string') return '';
  return /sips?:([^@;>]+)@/.exec(uri)?.[1] ?? '';
}
