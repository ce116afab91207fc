/**
 * Notification sounds, synthesised with Web Audio: no audio files to ship or cache, and nothing plays until the
 * user has interacted with the page (the browser's autoplay rule), which is when a context can start.
 */
let context: AudioContext | undefined;

function tone(notes: { freq: number; at: number; length: number }[], volume: number): void {
  try {
    context ??= new AudioContext();
    const ctx = context;
    if (ctx.state === 'suspended') void ctx.resume();
    for (const note of notes) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      const start = ctx.currentTime + note.at;
      osc.type = 'sine';
      osc.frequency.value = note.freq;
      // A short attack and an exponential fade: a soft "pop", not a click.
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(volume, start + 0.015);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + note.length);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start);
      osc.stop(start + note.length + 0.02);
    }
  } catch {
    // No audio output available: a sound is a nicety.
  }
}

/** A message arrived while the tab was in the background. */
export function playIncoming(): void {
  tone(
    [
      { freq: 880, at: 0, length: 0.16 },
      { freq: 1320, at: 0.12, length: 0.22 },
    ],
    0.18,
  );
}

/** A message of ours was sent. */
export function playSent(): void {
  tone([{ freq: 660, at: 0, length: 0.1 }], 0.1);
}
