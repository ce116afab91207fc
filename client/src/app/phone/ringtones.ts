import { routeAudio } from '../settings/devices.js';
import { PHONE_RINGTONES, type PhoneRingtone } from '../../../../shared/schemas/directory.js';

export { PHONE_RINGTONES, type PhoneRingtone };

/** Each ringtone: the notes of one ring (seconds from its start) and how often it repeats. */
const PATTERNS: Record<
  PhoneRingtone,
  { notes: { freq: number; at: number; length: number }[]; every: number }
> = {
  // A classic double ring.
  ring1: {
    notes: [
      { freq: 440, at: 0, length: 0.4 },
      { freq: 480, at: 0, length: 0.4 },
      { freq: 440, at: 0.6, length: 0.4 },
      { freq: 480, at: 0.6, length: 0.4 },
    ],
    every: 3,
  },
  // Three rising notes: told apart from ring1 at once (external calls by default).
  ring2: {
    notes: [
      { freq: 660, at: 0, length: 0.18 },
      { freq: 880, at: 0.2, length: 0.18 },
      { freq: 1100, at: 0.4, length: 0.3 },
    ],
    every: 2,
  },
  // A soft chime.
  ring3: {
    notes: [
      { freq: 1046, at: 0, length: 0.5 },
      { freq: 784, at: 0.35, length: 0.7 },
    ],
    every: 2.5,
  },
};

/**
 * Rings until the returned stop is called: Web Audio tones (no files to ship), played through an <audio>
 * element so that the ring device chosen in the settings is used where the browser supports setSinkId.
 */
export function ring(tone: PhoneRingtone, deviceId?: string, times = Infinity): () => void {
  let ctx: AudioContext;
  try {
    ctx = new AudioContext();
  } catch {
    return () => undefined;
  }
  const out = ctx.createMediaStreamDestination();
  const audio = new Audio();
  audio.srcObject = out.stream;
  const pattern = PATTERNS[tone];
  let count = 0;
  const once = (): void => {
    if (count++ >= times) return;
    const base = ctx.currentTime + 0.05;
    for (const note of pattern.notes) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      const start = base + note.at;
      osc.frequency.value = note.freq;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.2, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + note.length);
      osc.connect(gain).connect(out);
      osc.start(start);
      osc.stop(start + note.length + 0.02);
    }
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  let stopped = false;
  // The ring starts once the chosen device is set: started before setSinkId answers, its first notes would sound
  // on the default output (the speakers, when a headset was chosen).
  void routeAudio(audio, deviceId).then(() => {
    if (stopped) return;
    void audio.play().catch(() => undefined);
    if (ctx.state === 'suspended') void ctx.resume().catch(() => undefined);
    once();
    timer = setInterval(once, pattern.every * 1000);
  });
  return () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    audio.pause();
    audio.srcObject = null;
    void ctx.close().catch(() => undefined);
  };
}
