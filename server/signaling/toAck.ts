import type { Ack } from '../../shared/protocol.js';
import { toAppError } from '../errors.js';
import type { Logger } from '../logger.js';

/** The one place where errors become socket acks: the same body as over HTTP. */
export function errorAck(err: unknown, logger: Logger): Ack<never> {
  const appError = toAppError(err);
  if (appError.status >= 500) logger.error({ err }, 'socket request failed');
  return { ok: false, error: appError.toBody() };
}
