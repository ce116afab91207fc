/** The user's choice of devices; ids as the browser gives them (per origin). Empty means the system default. */
export interface DeviceChoice {
  audioInput?: string | undefined;
  videoInput?: string | undefined;
  audioOutput?: string | undefined;
}

/** Chrome's `setSinkId`, not in every browser (nor in TypeScript's DOM types for every target). */
export async function routeAudio(el: HTMLMediaElement, sinkId: string | undefined): Promise<void> {
  const media = el as HTMLMediaElement & { setSinkId?: (id: string) => Promise<void> };
  if (!sinkId || typeof media.setSinkId !== 'function') return;
  // An output unplugged since it was chosen: the default one keeps playing.
  await media.setSinkId(sinkId).catch(() => undefined);
}

export const canChooseOutput = (): boolean =>
  typeof (HTMLMediaElement.prototype as { setSinkId?: unknown }).setSinkId === 'function';

const GUEST_KEY = 'ucc.guestDevices';

/** A guest has no profile: their choice stays in this browser. */
export function storedGuestDevices(): DeviceChoice {
  try {
    const raw = localStorage.getItem(GUEST_KEY);
    const v = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const pick = (k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined);
    return {
      audioInput: pick('audioInput'),
      videoInput: pick('videoInput'),
      audioOutput: pick('audioOutput'),
    };
  } catch {
    return {};
  }
}

export function storeGuestDevices(choice: DeviceChoice): void {
  try {
    localStorage.setItem(GUEST_KEY, JSON.stringify(choice));
  } catch {
    // Storage disabled: the choice holds for this visit.
  }
}
