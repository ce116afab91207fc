import { machine, summarize, type Summary } from './harness.js';

/** One figure of bench:phone: a name with its unit, the samples' summary, and the samples (ms). */
export interface Figure {
  name: string;
  summary: Summary;
  samples: number[];
}

/** What one half of bench:phone (desk ↔ desk, or browser ↔ desk) measured, and the machine around it. */
export interface Half {
  title: string;
  /** Markdown paragraphs: the setup and how each time was taken. */
  method: string[];
  calls: number;
  figures: Figure[];
  /** More facts of the run (versions, the clock mapping's error, the poll's resolution). */
  facts: Record<string, unknown>;
  machine: { before: ReturnType<typeof machine>; after: ReturnType<typeof machine> };
}

export function figure(name: string, samples: number[]): Figure {
  return { name, summary: summarize(samples), samples: samples.map((n) => Math.round(n * 100) / 100) };
}

/**
 * When `event` settles, on the bench's clock; started before the action that causes the event, so that the time
 * is taken as soon as it arrives. The rejection is kept for the caller's await, not reported as unhandled meanwhile.
 */
export function timeOf(event: Promise<unknown>): Promise<number> {
  const at = event.then(() => performance.now());
  at.catch(() => undefined);
  return at;
}
