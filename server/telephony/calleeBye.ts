/**
 * The BYE Kamailio 5.6 sometimes fails to send. `dlg.end_dlg` sends a BYE to the caller, then one to the callee;
 * when the caller's 200 is handled (by another Kamailio process) before the second send, the dialog is already
 * ended and the callee's BYE is dropped with "terminating non-confirmed dialogs not supported"
 * (kamailio/kamailio#4169; later versions send it regardless). The callee's phone would then stay in a dead call.
 * The generated config counts the BYEs Kamailio sent per Call-ID; when only one went out, the server sends the
 * callee's through `tm.t_uac_start`, built from what `dlg.list` said before the dialog ended.
 */

/** One side of a dialog as `dlg.list` gives it. */
export interface DialogLeg {
  tag: string;
  contact: string;
  cseq: string;
  routeSet: string;
  /** The local socket Kamailio talks to that side on, e.g. `udp:127.0.0.1:5060`. */
  socket: string;
}

export interface DialogForBye {
  callId: string;
  fromUri: string;
  toUri: string;
  caller: DialogLeg;
  callee: DialogLeg;
}

/** The dialog module's numbering: 3 is answered but not yet acknowledged, 4 answered and acknowledged. */
export const DLG_STATE_CONFIRMED_NA = 3;
export const DLG_STATE_CONFIRMED = 4;

/** `tm.t_uac_start`'s parameters: method, request URI, next hop, send socket, headers. */
export type UacStartParams = [string, string, string, string, string];

/** The alias `add_contact_alias()` puts on a contact behind a connection: `;alias=ip~port~proto`. */
const ALIAS = /;alias=([^~;>]+)~(\d+)~(\d+)/;
const PROTOCOLS: Record<string, string> = { '1': 'udp', '2': 'tcp', '3': 'tls', '5': 'ws', '6': 'wss' };

/** The BYE to the callee, as the caller's side of the dialog would send it. */
export function calleeBye(d: DialogForBye): UacStartParams {
  const contact = d.callee.contact.replace(/^<|>$/g, '');
  const headers = [
    `From: <${d.fromUri}>;tag=${d.caller.tag}`,
    `To: <${d.toUri}>;tag=${d.callee.tag}`,
    `Call-ID: ${d.callId}`,
    // Above anything the caller sent: Kamailio would have used the caller's next number too.
    `CSeq: ${(Number.parseInt(d.caller.cseq, 10) || 0) + 1} BYE`,
    'Max-Forwards: 70',
  ];
  if (d.callee.routeSet) headers.push(`Route: ${d.callee.routeSet}`);
  return ['BYE', contact, nextHop(contact), d.callee.socket, headers.map((h) => `${h}\r\n`).join('')];
}

/** Where a contact behind an aliased connection is reached (as `handle_ruri_alias()` would); else the contact. */
function nextHop(contact: string): string {
  const alias = ALIAS.exec(contact);
  if (!alias) return '';
  const [, host = '', port = '', proto = ''] = alias;
  const transport = PROTOCOLS[proto];
  if (!transport) return '';
  const address = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `sip:${address}:${port};transport=${transport}`;
}
