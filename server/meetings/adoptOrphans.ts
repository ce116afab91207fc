import type { NodeLiveness } from '../redis/NodeRegistry.js';
import type { GraceTimers } from './GraceTimers.js';
import type { MeetingDocument } from './Meeting.js';

export interface AdoptOptions {
  nodes: NodeLiveness;
  now: number;
  rejoinGraceMs: number;
  grace: GraceTimers;
  /** Leave the meeting alone if any of its records belongs to another node that is alive (it holds the meeting). */
  unlessHosted: boolean;
}

/**
 * Takes over the records a dead node (an earlier run of this one, or no node: records from before nodes had ids)
 * left in a meeting: whoever it had in is marked as dropped, as a drop there would have, and their grace windows
 * (and those of people who had already dropped) now end on this node. Their connections come back through this
 * node (the balancer moved the meeting here) or not at all. Returns whether anything changed; the caller saves,
 * in the meeting's queue.
 */
export async function adoptOrphans(meeting: MeetingDocument, o: AdoptOptions): Promise<boolean> {
  const own = o.nodes.id;
  const foreign = meeting.participants.filter(
    (p) => p.node !== own && (!p.leftAt || (p.dropped === true && p.rejoinUntil !== undefined)),
  );
  if (foreign.length === 0) return false;
  const alive = await o.nodes.alive(foreign.flatMap((p) => (p.node ? [p.node] : [])));
  if (o.unlessHosted && foreign.some((p) => p.node !== undefined && alive.has(p.node))) return false;
  const orphans = foreign.filter((p) => p.node === undefined || !alive.has(p.node));
  const meetingId = String(meeting._id);
  for (const p of orphans) {
    if (!p.leftAt) {
      p.leftAt = new Date(o.now);
      p.rejoinUntil = new Date(o.now + o.rejoinGraceMs);
      p.dropped = true;
    }
    // This node's from now on: its window ends here, and later decisions do not ask about it again.
    p.node = own;
    o.grace.start(meetingId, p.participantId, p.rejoinUntil ?? new Date(o.now));
  }
  return orphans.length > 0;
}
