import assert from 'node:assert/strict';
import { TypingState } from '../../server/chat/TypingState.js';
import { ManualClock } from '../../server/clock.js';

const ROOM = '!room:ucc.test';
const OURS = '@ucc_200:ucc.test';
const ELEMENT = '@anna:ucc.test';

describe('TypingState', () => {
  it('tells who started and who stopped between two lists Synapse pushed', () => {
    const state = new TypingState(new ManualClock(), 30_000);
    assert.deepEqual(state.push(ROOM, [ELEMENT]), [{ mxid: ELEMENT, typing: true }]);
    // The same list again (Synapse pushes a room's whole list whenever anyone in it changes) tells nothing.
    assert.deepEqual(state.push(ROOM, [ELEMENT]), []);
    assert.deepEqual(state.push(ROOM, [ELEMENT, OURS]), [{ mxid: OURS, typing: true }]);
    assert.deepEqual(state.push(ROOM, []), [
      { mxid: ELEMENT, typing: false },
      { mxid: OURS, typing: false },
    ]);
    assert.equal(state.rooms, 0, 'a room where nobody types holds no state');
  });

  it('does not tell again what our API already told: Synapse’s echo of it, before or after the call returns', () => {
    const clock = new ManualClock();
    const state = new TypingState(clock, 30_000);
    state.set(ROOM, OURS, true);
    assert.deepEqual(state.push(ROOM, [OURS]), []);
    state.set(ROOM, OURS, false);
    assert.deepEqual(state.push(ROOM, []), []);
    clock.advance(5_001);
    assert.deepEqual(state.push(ROOM, []), []);
    assert.equal(state.rooms, 0);
  });

  it('does not take a late echo of our start, pushed after our stop, for a new start', () => {
    const clock = new ManualClock();
    const state = new TypingState(clock, 30_000);
    state.set(ROOM, OURS, true);
    state.set(ROOM, OURS, false);
    assert.deepEqual(state.push(ROOM, [OURS]), []);
    assert.equal(state.isTyping(ROOM, OURS), false);
    assert.deepEqual(state.relayed(ROOM), []);
    assert.deepEqual(state.push(ROOM, []), []);
    // Once the stop no longer holds, Synapse's word counts again (a colleague starting in Element).
    clock.advance(5_001);
    assert.deepEqual(state.push(ROOM, [OURS]), [{ mxid: OURS, typing: true }]);
  });

  it('keeps a change of ours against a list Synapse built before it', () => {
    const state = new TypingState(new ManualClock(), 30_000);
    state.set(ROOM, OURS, true);
    // Anna's start, pushed after ours was told but made before it: it must not say that we stopped.
    assert.deepEqual(state.push(ROOM, [ELEMENT]), [{ mxid: ELEMENT, typing: true }]);
    assert.deepEqual(state.push(ROOM, [ELEMENT, OURS]), []);
  });

  it('follows Synapse again once a change of ours has timed out (a tab closed without stopping)', () => {
    const clock = new ManualClock();
    const state = new TypingState(clock, 30_000);
    state.set(ROOM, OURS, true);
    assert.deepEqual(state.push(ROOM, [OURS]), []);
    clock.advance(30_001);
    assert.deepEqual(state.push(ROOM, []), [{ mxid: OURS, typing: false }]);
    assert.equal(state.rooms, 0);
  });

  it('tells a colleague typing in Element under the mxid our app uses for them', () => {
    const state = new TypingState(new ManualClock(), 30_000);
    assert.deepEqual(state.push(ROOM, [OURS]), [{ mxid: OURS, typing: true }]);
    assert.deepEqual(state.push(ROOM, []), [{ mxid: OURS, typing: false }]);
  });

  it('knows who is typing now, and whom only Synapse knows of', () => {
    const clock = new ManualClock();
    const state = new TypingState(clock, 30_000);
    state.set(ROOM, OURS, true);
    state.push(ROOM, [OURS, ELEMENT]);
    assert.equal(state.isTyping(ROOM, OURS), true);
    assert.equal(state.isTyping(ROOM, ELEMENT), true);
    // Our user's own client refreshes their notice; only the Element user needs reminding.
    assert.deepEqual(state.relayed(ROOM), [ELEMENT]);
    clock.advance(30_001);
    assert.deepEqual(state.relayed(ROOM), [OURS, ELEMENT]);
    state.push(ROOM, []);
    assert.equal(state.isTyping(ROOM, ELEMENT), false);
    assert.deepEqual(state.relayed(ROOM), []);
  });

  it('undoes a change that Synapse refused', () => {
    const state = new TypingState(new ManualClock(), 30_000);
    assert.deepEqual(state.push(ROOM, [OURS]), [{ mxid: OURS, typing: true }]);
    const undo = state.set(ROOM, OURS, false);
    undo();
    // Synapse still has them typing, and so do the members: its next list without them is a change.
    assert.deepEqual(state.push(ROOM, []), [{ mxid: OURS, typing: false }]);
    const undoStart = state.set(ROOM, OURS, true);
    undoStart();
    assert.deepEqual(state.push(ROOM, [OURS]), [{ mxid: OURS, typing: true }]);
  });
});
