/**
 * The evapi events of the generated Kamailio config: JSON objects built with jansson and relayed to every evapi
 * client (our server; KamailioPbx reads their fields). Every event is made the same way, so each route here is
 * one row of a table and the queue routes build theirs with the same helper.
 */

/** One or more config lines that set a member of the event object `$var(ev)`. */
export type EventField = readonly string[];

const set = (type: string, key: string, value: string): string =>
  `jansson_set("${type}", "${key}", "${value}", "$var(ev)");`;

/** A string member; with `when`, only if that condition holds. `value` is a pseudo-variable or transformation. */
export function strField(key: string, value: string, when?: string): EventField {
  return [when ? `if (${when}) { ${set('string', key, value)} }` : set('string', key, value)];
}

export function intField(key: string, value: string): EventField {
  return [set('integer', key, value)];
}

/** `true` when the condition holds, absent otherwise. */
export function trueField(key: string, when: string): EventField {
  return [`if (${when}) { ${set('true', key, '')} }`];
}

/** `true` or `false`, always present. */
export function boolField(key: string, when: string): EventField {
  return [`if (${when}) { ${set('true', key, '')} }`, `else { ${set('false', key, '')} }`];
}

export const CALL_ID = strField('callId', '$ci');

/** Builds `{ "event": name, ...fields }` in `$var(ev)` and relays it; lines after the first get `indent`. */
export function relayEvent(event: string, fields: readonly EventField[], indent: string): string {
  return ['$var(ev) = "{}";', ...strField('event', event), ...fields.flat(), 'evapi_relay("$var(ev)");'].join(
    `\n${indent}`,
  );
}

/** A route whose job is one event: what it computes first (`prelude`), then the event. */
interface EventRoute {
  /** `route[NAME]` or `event_route[module:event]`. */
  name: string;
  /** Said above the route. */
  comment?: string;
  prelude?: string[];
  event: string;
  fields: EventField[];
}

function eventRoute(r: EventRoute): string {
  const body = [...(r.prelude ?? []), relayEvent(r.event, r.fields, '\t')].join('\n\t');
  return `${r.comment ? `# ${r.comment}\n` : ''}${r.name} {\n\t${body}\n}`;
}

/** route[REGEVENT]: the `registered` event, after save("location"). */
export function registrationEventRoute(): string {
  return eventRoute({
    name: 'route[REGEVENT]',
    comment:
      "Presence: a binding was saved, refreshed or removed; the server reads the extension's contacts after it.",
    prelude: [
      '$var(exp) = -1;',
      'if (is_present_hf("Expires")) { $var(exp) = $(hdr(Expires){s.int}); }',
      'if ($ct =~ "expires=[0-9]+") { $var(exp) = $(ct{re.subst,/^.*expires=([0-9]+).*$/\\1/}{s.int}); }',
    ],
    event: 'registered',
    fields: [
      strField('extension', '$tU'),
      intField('expires', '$var(exp)'),
      boolField('webPhone', '($proto == "ws" || $proto == "wss")'),
    ],
  });
}

/**
 * The call events (start, transfer, ringing, answered, failed, ended) and the expiry of a binding. The routes
 * that call them set what they read: `$var(from)`/`$var(trunk_in)`, `$var(external)`, `$var(queue)`,
 * `$var(code)`, `$var(ender)`.
 */
export function callEventRoutes(bridgeUser: string): string {
  const before: EventRoute[] = [
    {
      name: 'route[CALLEVENT_START]',
      prelude: [
        '# A call from the trunk names its caller in E.164 (route[FROMTRUNK]; a From just rewritten still reads old).',
        'if ($var(trunk_in) != 1) { $var(from) = $fU; }',
        '$var(trunk_in) = 0;',
      ],
      event: 'start',
      fields: [
        CALL_ID,
        strField('from', '$var(from)'),
        strField('to', '$rU'),
        strField('referredBy', '$(hdr(Referred-By){nameaddr.uri}{uri.user})', 'is_present_hf("Referred-By")'),
        trueField('bridge', `$fU == "${bridgeUser}"`),
        trueField('external', '$var(external) == 1'),
        strField('queue', '$rU', '$var(queue) == 1'),
      ],
    },
    {
      name: 'route[CALLEVENT_REFER]',
      comment:
        "A blind transfer asked inside a call: its records say to whom, the transferee's new call by whom.",
      event: 'transfer',
      fields: [CALL_ID, strField('by', '$fU'), strField('to', '$(hdr(Refer-To){nameaddr.uri}{uri.user})')],
    },
    { name: 'route[CALLEVENT_RINGING]', event: 'ringing', fields: [CALL_ID] },
    {
      name: 'route[CALLEVENT_ANSWERED]',
      event: 'answered',
      fields: [CALL_ID, strField('member', '$dlg_var(member)', '$dlg_var(member) != $null')],
    },
    { name: 'route[CALLEVENT_FAIL]', event: 'failed', fields: [CALL_ID, intField('code', '$var(code)')] },
  ];
  const after: EventRoute[] = [
    { name: 'route[CALLEVENT_BYE]', event: 'ended', fields: [CALL_ID, strField('by', '$var(ender)')] },
    {
      name: 'event_route[dialog:end]',
      comment:
        'A dialog that ends without a BYE we saw (its timeout, dlg.end_dlg): the server closes the record.',
      event: 'ended',
      fields: [CALL_ID],
    },
    {
      name: 'event_route[usrloc:contact-expired]',
      comment:
        'A binding ran out without a REGISTER (the phone went away): presence turns that extension offline.',
      event: 'expired',
      fields: [strField('extension', '$ulc(exp=>aor)'), strField('contact', '$ulc(exp=>addr)')],
    },
  ];
  // A failure found before any relay (no location): the same event.
  const failLocal = 'route[CALLEVENT_FAIL_LOCAL] {\n\troute(CALLEVENT_FAIL);\n}';
  return [...before.map(eventRoute), failLocal, ...after.map(eventRoute)].join('\n\n');
}
