import assert from 'node:assert/strict';
import { applyEdit, endOf, merge, mergeEdits, PAGE } from '../../client/src/app/chat/messageList.js';
import type { ChatMessageView } from '../../shared/schemas/chat.js';

const ROOM = '!room:ucc.test';
const mario = { mxid: '@ucc_200:ucc.test', displayName: 'Mario Rossi' };
const giulia = { mxid: '@ucc_201:ucc.test', displayName: 'Giulia Bianchi' };

function message(
  eventId: string,
  ts: number,
  body: string,
  extra: Partial<ChatMessageView> = {},
): ChatMessageView {
  return { roomId: ROOM, eventId, sender: mario, msgtype: 'm.text', body, ts, ...extra };
}

describe('the conversation message list (client)', () => {
  it('keeps originals in time order, once each, whatever order the pages and live messages come in', () => {
    const newest = [message('$3', 3, 'tre'), message('$2', 2, 'due')];
    const older = [message('$2', 2, 'due'), message('$1', 1, 'uno')];
    const list = merge(merge(merge([], newest), older), [message('$4', 4, 'quattro')]);
    assert.deepEqual(
      list.map((m) => m.eventId),
      ['$1', '$2', '$3', '$4'],
    );
  });

  it('holds an edit that arrives before its original, and applies the newest edit by the same author', () => {
    const edit = (id: string, ts: number, body: string, sender = mario): ChatMessageView =>
      message(id, ts, body, { edits: '$1', sender });
    // The first page has the edits (newer), the original comes with the older page.
    let edits = mergeEdits(new Map(), [edit('$e2', 20, 'seconda'), edit('$e1', 10, 'prima')]);
    edits = mergeEdits(edits, [edit('$e0', 5, 'vecchia')]);
    const list = merge(merge([], [edit('$e2', 20, 'seconda')]), [message('$1', 1, 'originale')]);
    assert.deepEqual(
      list.map((m) => m.eventId),
      ['$1'],
      'edits are not messages of their own',
    );
    const [original] = list;
    assert.ok(original);
    const shown = applyEdit(original, edits.get('$1'));
    assert.equal(shown.body, 'seconda');
    assert.equal(shown.edited, true);

    // Someone else's "edit" of Mario's message changes nothing.
    const foreign = mergeEdits(new Map(), [edit('$x', 30, 'falsa', giulia)]);
    assert.equal(applyEdit(original, foreign.get('$1')).body, 'originale');
  });

  it('drops the old formatted body when an edit has none', () => {
    const original = message('$1', 1, '**ciao**', { formattedBody: '<strong>ciao</strong>' });
    const shown = applyEdit(original, message('$e', 2, 'ciao', { edits: '$1' }));
    assert.equal(shown.formattedBody, undefined);
    assert.equal(shown.body, 'ciao');
  });

  it('treats a short page as the start of the room', () => {
    const full = Array.from({ length: PAGE }, (_, i) => message(`$${i}`, i, 'x'));
    assert.equal(endOf({ items: full, next: 't1' }), 't1');
    assert.equal(endOf({ items: full.slice(1), next: 't1' }), null);
    assert.equal(endOf({ items: full }), null);
  });
});
