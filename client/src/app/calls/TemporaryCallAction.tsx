/**
 * TEMPORARY (branch h-recent, dropped at the merge): a stand-in for the phone's CallAction provider, which the
 * web-phone branch brings, so that the call buttons of this branch can be used and tested before it lands. It
 * only asks for click-to-call (the desk phone rings first) and says how that went.
 */
import { useMemo, useState, type ReactNode } from 'react';
import { api, ApiError } from '../api/api.js';
import { CallActionContext, type CallAction } from '../phone/callAction.js';

export function TemporaryCallAction({ children }: { children: ReactNode }): React.JSX.Element {
  const [notice, setNotice] = useState<string | undefined>();
  const value = useMemo<CallAction>(
    () => ({
      available: true,
      call: ({ number, name }) => {
        setNotice(undefined);
        api('POST', '/api/calls/click-to-call', { number }).then(
          () => setNotice(`→ ${name ? `${name} <${number}>` : number}`),
          (err: unknown) => setNotice(err instanceof ApiError ? err.message : String(err)),
        );
      },
    }),
    [],
  );
  return (
    <CallActionContext.Provider value={value}>
      {children}
      <p className="visually-hidden" role="status" data-testid="temporary-call-notice">
        {notice}
      </p>
    </CallActionContext.Provider>
  );
}
