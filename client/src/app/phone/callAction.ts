import { createContext, useContext } from 'react';

/** Whom to call: an extension or an external number, with the name to show while it rings. */
export interface CallTarget {
  number: string;
  name?: string;
}

/**
 * How any screen starts a call (a chat header, a directory result, "Richiama" in Chiamate recenti) without
 * knowing how: the web phone when it is on and registered, otherwise click-to-call on the desk phone. The phone
 * provider in the shell supplies it; outside it, `available` is false and the call buttons are not shown.
 */
export interface CallAction {
  available: boolean;
  call(target: CallTarget): void;
}

export const CallActionContext = createContext<CallAction>({ available: false, call: () => undefined });

export function useCallAction(): CallAction {
  return useContext(CallActionContext);
}
