/**
 * Who the bridge is on the homeserver. Production code (the bridge) and the dev-only Synapse launcher
 * (server/stack/SynapseService, which writes the registration file) both read these: they live with the
 * protocol, not with the launcher.
 */

/** The application service's id in its registration; the bridge masquerades as `@ucc_<ext>` users. */
export const APPSERVICE_ID = 'opivoice-ucc';
export const APPSERVICE_SENDER_LOCALPART = 'ucc-bridge';
/** The exclusive namespace of the bridge's users and aliases (`@ucc_…`, `#ucc_…`). */
export const APPSERVICE_USER_PREFIX = 'ucc_';

/** Where the homeserver is and the application service's credentials on it. */
export interface MatrixEndpoint {
  homeserverUrl: string;
  serverName: string;
  asToken: string;
  hsToken: string;
  /** Only known for the embedded Synapse; lets tests and admin tooling register plain Matrix users. */
  registrationSharedSecret?: string;
}
