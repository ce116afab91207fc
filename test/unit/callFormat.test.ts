import assert from 'node:assert/strict';
import {
  dayLabel,
  durationLabel,
  groupByDay,
  peerLabel,
  timeLabel,
} from '../../client/src/app/calls/callFormat.js';
import type { CallRecordView } from '../../shared/schemas/calls.js';

const words = { today: 'oggi', yesterday: 'ieri' };

function call(startedAt: Date, id: string): CallRecordView {
  return {
    id,
    direction: 'incoming',
    peerNumber: '951',
    outcome: 'answered',
    startedAt: startedAt.toISOString(),
    durationSec: 0,
    clickToCall: false,
    external: false,
  };
}

describe('Chiamate recenti: how a row reads', () => {
  it('names today and yesterday, and other days by day and month, with the year only when not this one', () => {
    const now = new Date(2026, 7, 5, 10, 0, 0);
    assert.equal(dayLabel(new Date(2026, 7, 5, 0, 0, 1), now, 'it', words), 'oggi');
    assert.equal(dayLabel(new Date(2026, 7, 4, 23, 59, 59), now, 'it', words), 'ieri');
    assert.equal(dayLabel(new Date(2026, 7, 3, 10, 4, 9), now, 'it', words), '3 ago');
    assert.equal(dayLabel(new Date(2025, 11, 30, 9, 0), now, 'it', words), '30 dic 2025');
    // Across a month's start: 1 March, "yesterday" is the last of February.
    assert.equal(dayLabel(new Date(2026, 1, 28, 12), new Date(2026, 2, 1, 8), 'it', words), 'ieri');
  });

  it('shows the time with seconds on a 24-hour clock, and durations as m:ss or h:mm:ss', () => {
    assert.equal(timeLabel(new Date(2026, 7, 5, 15, 21, 9), 'it'), '15:21:09');
    assert.equal(timeLabel(new Date(2026, 7, 5, 0, 5, 0), 'en'), '00:05:00');
    assert.deepEqual([0, 7, 65, 754, 3_725].map(durationLabel), ['0:00', '0:07', '1:05', '12:34', '1:02:05']);
  });

  it('groups consecutive calls of one local day, newest first, and names the peer as the manual does', () => {
    const groups = groupByDay([
      call(new Date(2026, 7, 5, 10, 50, 25), 'a'),
      call(new Date(2026, 7, 3, 10, 4, 9), 'b'),
      call(new Date(2026, 6, 30, 15, 21, 41), 'c'),
      call(new Date(2026, 6, 30, 15, 21, 9), 'd'),
    ]);
    assert.deepEqual(
      groups.map((g) => [g.key, g.calls.map((c) => c.id)]),
      [
        ['2026-08-05', ['a']],
        ['2026-08-03', ['b']],
        ['2026-07-30', ['c', 'd']],
      ],
    );
    assert.equal(peerLabel({ peerName: 'Cognome Nome', peerNumber: '951' }), 'Cognome Nome <951>');
    assert.equal(peerLabel({ peerNumber: '+390212345678' }), '+390212345678');
  });
});
