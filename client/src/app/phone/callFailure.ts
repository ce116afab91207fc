/**
 * Why a call did not connect, as the call screen tells it (manual: the clear error on the call screen);
 * `connectionLost`: a connected call ended because the network stayed away too long.
 */
export type CallFailure =
  | 'notFound'
  | 'busy'
  | 'noAnswer'
  | 'rejected'
  | 'unreachable'
  | 'telephonyDown'
  | 'media'
  | 'connectionLost'
  | 'other'
  /** A blind transfer whose target does not exist; the call itself goes on. */
  | 'transferNotFound'
  /** A blind transfer that failed otherwise (refused, busy, no answer); the call goes on. */
  | 'transfer';

/** From the SIP status of the final answer, when there was one, else from JsSIP's cause. */
export function callFailure(statusCode: number | undefined, cause: string | undefined): CallFailure {
  switch (statusCode ?? 0) {
    case 404:
    case 484:
    case 604:
      return 'notFound';
    case 486:
    case 600:
      return 'busy';
    case 408:
    case 480:
      return 'noAnswer';
    case 403:
    case 603:
      return 'rejected';
    case 502:
    case 504:
      return 'unreachable';
    case 503:
      return 'telephonyDown';
    default:
  }
  switch (cause ?? '') {
    case 'Not Found':
    case 'Address Incomplete':
      return 'notFound';
    case 'Busy':
      return 'busy';
    case 'No Answer':
    case 'Unavailable':
    case 'Expires':
      return 'noAnswer';
    case 'Rejected':
      return 'rejected';
    case 'Connection Error':
    case 'Request Timeout':
    case 'RTP Timeout':
      return 'unreachable';
    case 'User Denied Media Access':
    case 'WebRTC Error':
    case 'Incompatible SDP':
    case 'Bad Media Description':
      return 'media';
    default:
      return 'other';
  }
}

/**
 * A blind transfer that did not happen: the status the far side reported of its call to the target (the NOTIFY's
 * sipfrag), or the answer to the REFER itself; none when the REFER got no answer.
 */
export function transferFailure(statusCode: number | undefined): CallFailure {
  return statusCode === 404 || statusCode === 484 || statusCode === 604 ? 'transferNotFound' : 'transfer';
}
