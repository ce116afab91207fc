import type { MessageKey } from '../i18n/i18n.js';
import type { CallFailure } from './callFailure.js';

const KEYS: Record<CallFailure, MessageKey> = {
  notFound: 'failNotFound',
  busy: 'failBusy',
  noAnswer: 'failNoAnswer',
  rejected: 'failRejected',
  unreachable: 'failUnreachable',
  telephonyDown: 'failTelephonyDown',
  media: 'failMedia',
  connectionLost: 'failConnectionLost',
  other: 'failOther',
  transferNotFound: 'failTransferNotFound',
  transfer: 'failTransfer',
};

/** The call screen's message for a failure. */
export function failureKey(failure: CallFailure): MessageKey {
  return KEYS[failure];
}
