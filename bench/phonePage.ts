/**
 * What bench:phone's browser half puts into the page and reads back: the moments of the user's clicks, of the
 * SIP messages of INVITE transactions on the web phone's WebSocket and of the incoming-call banner, on the page's
 * own clock (performance.now); a poll of the newest RTCPeerConnection's `inbound-rtp` statistics for the first
 * audio packet; and the mapping of the page's clock onto the bench's.
 */
import type { Page } from 'playwright-core';

/** One moment noted in the page, on its clock. */
export interface PageMark {
  t: number;
  /**
   * click (a button's text), sip-out / sip-in (the first line of a message of an INVITE transaction), banner (the
   * incoming-call dialog in the DOM), media (getUserMedia resolved), pc (an RTCPeerConnection made, its ICE
   * gathering started and complete).
   */
  what: 'click' | 'sip-out' | 'sip-in' | 'banner' | 'media' | 'pc';
  detail: string;
}

/**
 * What the poll for the first audio packet saw, on the page's clock. Chromium answers getStats from a report it
 * keeps for about 50 ms, so a read tells what was true when its report was collected (RTCStats `timestamp`).
 */
export interface FirstAudio {
  /** The read that first had `inbound-rtp` packetsReceived > 0 started and resolved then. */
  readStartedAt: number;
  readAt: number;
  /** Its report was collected then: the first packet had arrived by this time. */
  collectedAt: number;
  /** The newest report without a packet was collected then (undefined if the first read had one already). */
  emptyCollectedAt: number | undefined;
  packetsReceived: number;
  /** `lastPacketReceivedTimestamp` of that report. */
  lastPacketAt: number;
  polls: number;
}

/** The page's globals, as page.evaluate sees them (this side has no DOM types). */
declare const window: {
  __bench: {
    marks: () => PageMark[];
    pcCount: () => number;
    firstAudio: (fromPc: number, pollMs: number, timeoutMs: number) => Promise<FirstAudio>;
  };
};

/**
 * The init script, a string: what the TypeScript loader adds to compiled functions does not exist in the page.
 * Only observes: the app's objects are untouched; the RTCPeerConnection and WebSocket subclasses and the
 * getUserMedia wrapper only note.
 */
export const PAGE_PROBES = `
  (() => {
    const marks = [];
    const mark = (what, detail) => marks.push({ t: performance.now(), what, detail });
    const pcs = [];
    const PC = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends PC {
      constructor(...args) {
        super(...args);
        pcs.push(this);
        mark('pc', 'created');
        this.addEventListener('icegatheringstatechange', () => {
          if (this.iceGatheringState === 'gathering') mark('pc', 'ICE gathering started');
          if (this.iceGatheringState === 'complete') mark('pc', 'ICE gathering complete');
        });
      }
    };
    const getUserMedia = MediaDevices.prototype.getUserMedia;
    MediaDevices.prototype.getUserMedia = function (...args) {
      return getUserMedia.apply(this, args).then((stream) => {
        mark('media', 'microphone open');
        return stream;
      });
    };
    // "INVITE sip:…" or "SIP/2.0 180 Ringing", with the CSeq method: only INVITE transactions are kept.
    const sip = (text) => {
      if (typeof text !== 'string') return undefined;
      const first = text.slice(0, text.indexOf('\\r\\n'));
      const cseq = /\\r\\nCSeq:\\s*\\d+\\s+(\\w+)/i.exec(text);
      return cseq && cseq[1] === 'INVITE' ? first : undefined;
    };
    const WS = window.WebSocket;
    window.WebSocket = class extends WS {
      constructor(...args) {
        super(...args);
        // Added before the app sets onmessage: this listener runs first, in the same task.
        this.addEventListener('message', (e) => {
          const line = sip(e.data);
          if (line) mark('sip-in', line);
        });
      }
      send(data) {
        const line = sip(data);
        if (line) mark('sip-out', line);
        return super.send(data);
      }
    };
    // Capture phase on window: before React's listener on its root, in the same dispatch.
    window.addEventListener('click', (e) => {
      const button = e.target instanceof Element ? e.target.closest('button') : null;
      if (button) mark('click', (button.textContent || '').trim());
    }, true);
    let banner = false;
    new MutationObserver(() => {
      const now = document.querySelector('[role="alertdialog"].incoming-call') !== null;
      if (now && !banner) mark('banner', 'in the DOM');
      banner = now;
    }).observe(document, { childList: true, subtree: true });
    window.__bench = {
      marks: () => marks.splice(0),
      pcCount: () => pcs.length,
      firstAudio: async (fromPc, pollMs, timeoutMs) => {
        const started = performance.now();
        // RTCStats timestamps count from the Unix epoch, as performance.timeOrigin does.
        const onPageClock = (epochMs) => epochMs - performance.timeOrigin;
        let emptyCollectedAt;
        for (let polls = 1; ; polls++) {
          const pc = pcs.length > fromPc ? pcs[pcs.length - 1] : undefined;
          if (pc) {
            const readStartedAt = performance.now();
            const stats = await pc.getStats();
            let collected = 0;
            let inbound;
            stats.forEach((r) => {
              collected = Math.max(collected, r.timestamp);
              if (r.type === 'inbound-rtp' && r.kind === 'audio' && r.packetsReceived > 0) inbound = r;
            });
            if (inbound) {
              return {
                readStartedAt,
                readAt: performance.now(),
                collectedAt: onPageClock(collected),
                emptyCollectedAt: emptyCollectedAt === undefined ? undefined : onPageClock(emptyCollectedAt),
                packetsReceived: inbound.packetsReceived,
                lastPacketAt: onPageClock(inbound.lastPacketReceivedTimestamp),
                polls,
              };
            }
            if (collected > 0) emptyCollectedAt = collected;
          }
          if (performance.now() - started > timeoutMs) throw new Error('no inbound audio within ' + timeoutMs + ' ms');
          await new Promise((r) => setTimeout(r, pollMs));
        }
      },
    };
  })();
`;

/** The marks noted since the last read (and forgets them). */
export function takeMarks(page: Page): Promise<PageMark[]> {
  return page.evaluate(() => window.__bench.marks());
}

export function peerConnections(page: Page): Promise<number> {
  return page.evaluate(() => window.__bench.pcCount());
}

/**
 * Polls, every `pollMs`, the statistics of the first RTCPeerConnection made after the first `fromPc` ones (the
 * call's, made at dial or at answer) until it has received an audio packet.
 */
export function firstAudio(
  page: Page,
  fromPc: number,
  pollMs: number,
  timeoutMs: number,
): Promise<FirstAudio> {
  return page.evaluate(([n, p, t]) => window.__bench.firstAudio(n, p, t), [
    fromPc,
    pollMs,
    timeoutMs,
  ] as const);
}

/** The page's clock mapped onto the bench's, and the most this mapping can be off. */
export interface PageClock {
  toBench: (pageT: number) => number;
  errorMs: number;
}

/**
 * Reads the page's performance.now() between two readings of ours, `samples` times, and keeps the fastest round
 * trip: the page's reading was taken somewhere within it, so mapping it onto the middle is off by at most half of
 * it. (Both clocks should count the same monotonic time from different origins; the bench syncs before each
 * call all the same.)
 */
export async function syncPageClock(page: Page, samples = 5): Promise<PageClock> {
  let best: { rtt: number; offset: number } | undefined;
  for (let i = 0; i < samples; i++) {
    const before = performance.now();
    const pageNow = await page.evaluate(() => performance.now());
    const after = performance.now();
    const rtt = after - before;
    if (!best || rtt < best.rtt) best = { rtt, offset: pageNow - (before + after) / 2 };
  }
  if (!best) throw new Error('no clock samples');
  const { offset, rtt } = best;
  return { toBench: (pageT) => pageT - offset, errorMs: rtt / 2 };
}

/** Opus frames from rtpengine towards the browser: 20 ms each, one a packet. */
const PACKET_MS = 20;

/**
 * The first packet's arrival estimated from the report that had it: its last packet's arrival, less one packet
 * time for each packet before it; never before the report without a packet.
 */
export function estimatedFirstPacket(a: FirstAudio): number {
  return Math.max(a.emptyCollectedAt ?? -Infinity, a.lastPacketAt - (a.packetsReceived - 1) * PACKET_MS);
}
