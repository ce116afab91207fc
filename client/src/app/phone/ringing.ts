// No DOM types here: the unit tests compile this without them.
import {
  extensionSchema,
  type PhoneRingtone,
  type Preferences,
} from '../../../../shared/schemas/directory.js';

/**
 * A caller id of the directory's extension format is a colleague (the edge lets in only callers that
 * authenticate as an extension); anything else ("+39…", "anonymous") came from outside: the external ringtone.
 */
export function isExternalNumber(number: string): boolean {
  return !extensionSchema.safeParse(number).success;
}

/** "Ricezione chiamata interna / esterna": the ringtone the settings give this caller. */
export function ringtoneFor(number: string, phone: Preferences['phone']): PhoneRingtone {
  return isExternalNumber(number) ? phone.ringExternal : phone.ringInternal;
}

/** The speaker that rings: the one chosen for the ringtone, else the general audio output, else the default. */
export function ringDeviceOf(prefs: Pick<Preferences, 'phone' | 'devices'>): string | undefined {
  return prefs.phone.ringDevice || prefs.devices.audioOutput || undefined;
}

/**
 * A desktop notification only when the user may not see the banner (the tab hidden, or the window without the
 * focus) and has allowed notifications.
 */
export function shouldNotify(page: {
  hidden: boolean;
  focused: boolean;
  permission: 'granted' | 'denied' | 'default' | undefined;
}): boolean {
  return page.permission === 'granted' && (page.hidden || !page.focused);
}

/** How the banner and the notification name the caller: "Rossi Mario (3001)", or the number alone. */
export function callerLabel(name: string | undefined, number: string): string {
  return name ? `${name} (${number})` : number;
}
