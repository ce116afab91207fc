import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Types } from 'mongoose';
import type { PresenceView } from '../../shared/schemas/presence.js';
import { presenceQuerySchema } from '../../shared/schemas/presence.js';
import { DirectoryEvents } from '../../server/directory/DirectoryEvents.js';
import type { UserModel } from '../../server/directory/User.js';
import { createLogger } from '../../server/logger.js';
import { Presence } from '../../server/presence/Presence.js';
import { presenceOf } from '../../server/presence/presenceRules.js';
import type { PbxAdapter, PbxAdapterEvents, SipRegistration } from '../../server/telephony/PbxAdapter.js';
import { registrationsOfDump, toRegistrationEvent } from '../../server/telephony/registrationEvents.js';

/** The PBX as presence sees it: its events, and bindings the test sets. */
class FakePbx extends EventEmitter<PbxAdapterEvents> {
  bindings = new Map<string, SipRegistration[]>();
  registrations(extension: string): Promise<SipRegistration[]> {
    return Promise.resolve(this.bindings.get(extension) ?? []);
  }
  allRegistrations(): Promise<Map<string, SipRegistration[]>> {
    return Promise.resolve(new Map(this.bindings));
  }
}

interface FakeUser {
  _id: Types.ObjectId;
  extension: string;
}

/** The two reads presence makes of the users collection, over an array. */
function fakeUsers(list: FakeUser[]): UserModel {
  const matches = (u: FakeUser, f: { extension?: string; _id?: string }): boolean =>
    (f.extension === undefined || f.extension === u.extension) &&
    (f._id === undefined || f._id === String(u._id));
  const model = {
    find: (f: { _id?: { $in: string[] } }) => ({
      lean: () => Promise.resolve(list.filter((u) => !f._id || f._id.$in.includes(String(u._id)))),
    }),
    findOne: (f: { extension?: string; _id?: string }) => ({
      lean: () => Promise.resolve(list.find((u) => matches(u, f)) ?? null),
    }),
  };
  // Only find/findOne(...).lean() are used by Presence; the rest of the mongoose model is not needed here.
  return model as unknown as UserModel;
}

describe('presence', () => {
  describe('the combination rules', () => {
    it('on a call beats in a meeting, which beats a registered phone, which beats nothing', () => {
      assert.equal(presenceOf({ calls: 1, meetings: 1, registrations: 1 }), 'onCall');
      assert.equal(presenceOf({ calls: 1, meetings: 0, registrations: 0 }), 'onCall');
      assert.equal(presenceOf({ calls: 0, meetings: 2, registrations: 1 }), 'inMeeting');
      assert.equal(presenceOf({ calls: 0, meetings: 1, registrations: 0 }), 'inMeeting');
      assert.equal(presenceOf({ calls: 0, meetings: 0, registrations: 3 }), 'available');
      assert.equal(presenceOf({ calls: 0, meetings: 0, registrations: 0 }), 'offline');
    });
  });

  describe('the Kamailio messages', () => {
    it('reads registrations and expiries, and ignores what is not one', () => {
      assert.deepEqual(
        toRegistrationEvent({ event: 'registered', extension: '201', expires: 600, webPhone: true }, 7),
        {
          type: 'registered',
          extension: '201',
          expiresSec: 600,
          webPhone: true,
          at: 7,
        },
      );
      assert.deepEqual(toRegistrationEvent({ event: 'registered', extension: '201', webPhone: false }, 7), {
        type: 'registered',
        extension: '201',
        expiresSec: -1,
        webPhone: false,
        at: 7,
      });
      assert.deepEqual(toRegistrationEvent({ event: 'expired', extension: '201', contact: 'sip:201@x' }, 8), {
        type: 'expired',
        extension: '201',
        contact: 'sip:201@x',
        at: 8,
      });
      assert.equal(toRegistrationEvent({ event: 'expired', extension: '201' }, 8), undefined);
      assert.equal(toRegistrationEvent({ event: 'registered', extension: '' }, 8), undefined);
      assert.equal(toRegistrationEvent({ event: 'start', callId: 'c' }, 8), undefined);
    });

    it('reads ul.dump per extension', () => {
      const dump = {
        Domains: [
          {
            Domain: {
              Domain: 'location',
              AoRs: [
                { Info: { AoR: '201', Contacts: [{ Contact: { Address: 'sip:201@a' } }] } },
                { Info: { AoR: '202@ucc.test', Contacts: [{ Contact: { Address: 'sip:202@b' } }] } },
                { Info: { AoR: '203', Contacts: [] } },
                { nothing: true },
              ],
            },
          },
        ],
      };
      const contactsOf = (info: unknown): SipRegistration[] =>
        ((info as { Contacts: { Contact: { Address: string } }[] }).Contacts ?? []).map((c) => ({
          contact: c.Contact.Address,
          expiresSec: 60,
        }));
      const out = registrationsOfDump(dump, contactsOf);
      assert.deepEqual([...out.keys()], ['201', '202']);
      assert.equal(registrationsOfDump(null, contactsOf).size, 0);
    });
  });

  describe('the REST query', () => {
    it('takes comma-separated ids, deduplicated, and refuses others', () => {
      const a = new Types.ObjectId().toHexString();
      const b = new Types.ObjectId().toHexString();
      assert.deepEqual(presenceQuerySchema.parse({ ids: `${a}, ${b},${a},` }).ids, [a, b]);
      assert.equal(presenceQuerySchema.safeParse({ ids: '' }).success, false);
      assert.equal(presenceQuerySchema.safeParse({ ids: 'nope' }).success, false);
      assert.equal(presenceQuerySchema.safeParse({}).success, false);
      const many = Array.from({ length: 201 }, () => new Types.ObjectId().toHexString()).join(',');
      assert.equal(presenceQuerySchema.safeParse({ ids: many }).success, false);
    });
  });

  describe('the live state', () => {
    const alice = { _id: new Types.ObjectId(), extension: '201' };
    const bob = { _id: new Types.ObjectId(), extension: '202' };
    let pbx: FakePbx;
    let gate: EventEmitter;
    let presence: Presence;
    let changes: PresenceView[];
    const sockets = new Map<string, string>();

    beforeEach(async () => {
      pbx = new FakePbx();
      gate = new EventEmitter();
      changes = [];
      sockets.set('sock-a', String(alice._id));
      pbx.bindings.set('202', [{ contact: 'sip:202@desk', expiresSec: 60 }]);
      presence = await Presence.create({
        // The fake has what presence uses of the adapter: its events and the two binding reads.
        pbx: pbx as unknown as PbxAdapter,
        users: fakeUsers([alice, bob]),
        directoryEvents: new DirectoryEvents(),
        // Likewise the gate: only its events.
        gate: gate as never,
        userOfSocket: (id) => sockets.get(id),
        logger: createLogger('silent'),
      });
      presence.on('changed', (v) => changes.push(v));
    });
    afterEach(() => presence.close());

    const stateOf = async (id: Types.ObjectId): Promise<string | undefined> =>
      (await presence.read([String(id)]))[0]?.state;

    /** Resolves at the next `changed` of this user to `state`. */
    const changedTo = (id: Types.ObjectId, state: string): Promise<void> =>
      new Promise((resolve) => {
        const on = (v: PresenceView): void => {
          if (v.userId === String(id) && v.state === state) {
            presence.off('changed', on);
            resolve();
          }
        };
        presence.on('changed', on);
      });

    it('starts from the bindings the PBX has', async () => {
      assert.equal(await stateOf(alice._id), 'offline');
      assert.equal(await stateOf(bob._id), 'available');
      assert.deepEqual(await presence.read([new Types.ObjectId().toHexString()]), []);
    });

    it('a registration makes a user available, an expiry offline again', async () => {
      pbx.bindings.set('201', [{ contact: 'sip:201@web', expiresSec: 60 }]);
      const up = changedTo(alice._id, 'available');
      pbx.emit('registration', {
        type: 'registered',
        extension: '201',
        expiresSec: 60,
        webPhone: true,
        at: 1,
      });
      await up;
      // Kamailio may still list the contact while its expiry event is out: that contact does not count.
      const down = changedTo(alice._id, 'offline');
      pbx.emit('registration', { type: 'expired', extension: '201', contact: 'sip:201@web', at: 2 });
      await down;
      assert.deepEqual(
        changes.map((c) => c.state),
        ['available', 'offline'],
      );
    });

    it('a call makes both ends onCall until it ends; a failed call too until it fails', async () => {
      pbx.emit('call', { type: 'start', callId: 'c1', from: '201', to: '202', at: 1 });
      assert.equal(await stateOf(alice._id), 'onCall');
      assert.equal(await stateOf(bob._id), 'onCall');
      pbx.emit('call', { type: 'answered', callId: 'c1', at: 2 });
      pbx.emit('call', { type: 'ended', callId: 'c1', by: '201', at: 3 });
      pbx.emit('call', { type: 'ended', callId: 'c1', at: 3 });
      assert.equal(await stateOf(alice._id), 'offline');
      assert.equal(await stateOf(bob._id), 'available');
      pbx.emit('call', { type: 'start', callId: 'c2', from: '202', to: '0399999', at: 4 });
      assert.equal(await stateOf(bob._id), 'onCall');
      pbx.emit('call', { type: 'failed', callId: 'c2', code: 486, at: 5 });
      assert.equal(await stateOf(bob._id), 'available');
      const bobs = changes.filter((c) => c.userId === String(bob._id)).map((c) => c.state);
      assert.deepEqual(bobs, ['onCall', 'available', 'onCall', 'available']);
    });

    it('a meeting makes a user inMeeting; a call beats it; leaving or the end of the session ends it', async () => {
      gate.emit('participantJoined', 'm1', { participantId: 'p1', kind: 'user' }, 'sock-a');
      assert.equal(await stateOf(alice._id), 'inMeeting');
      pbx.emit('call', { type: 'start', callId: 'c3', from: '202', to: '201', at: 1 });
      assert.equal(await stateOf(alice._id), 'onCall');
      pbx.emit('call', { type: 'ended', callId: 'c3', at: 2 });
      assert.equal(await stateOf(alice._id), 'inMeeting');
      gate.emit('participantLeft', 'm1', 'p1');
      assert.equal(await stateOf(alice._id), 'offline');
      gate.emit('participantJoined', 'm2', { participantId: 'p2', kind: 'user' }, 'sock-a');
      gate.emit('participantJoined', 'm2', { participantId: 'g1', kind: 'guest' }, 'sock-g');
      assert.equal(await stateOf(alice._id), 'inMeeting');
      gate.emit('sessionClosed', 'm2');
      assert.equal(await stateOf(alice._id), 'offline');
    });

    it('a reconnection to the PBX reads every binding again and forgets the calls', async () => {
      pbx.emit('call', { type: 'start', callId: 'c4', from: '201', to: '202', at: 1 });
      pbx.bindings.delete('202');
      const offline = changedTo(bob._id, 'offline');
      pbx.emit('reprovisioned', 2);
      await offline;
      assert.equal(await stateOf(alice._id), 'offline');
    });
  });
});
