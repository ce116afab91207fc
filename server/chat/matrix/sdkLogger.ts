import { logger as sdkGlobalLogger, type Logger as SdkLogger } from 'matrix-js-sdk/lib/logger.js';
import type { Logger } from '../../logger.js';

/**
 * matrix-js-sdk logs through loglevel, which writes to the console: its `FetchHttpApi: --> PUT …` lines would
 * land among our JSON lines on stdout. Everything it says goes to pino at debug instead: the bridge's own
 * errors already come out of every call as ours (see matrixErrors), so nothing of the SDK's needs a higher level.
 */

/** The SDK's logger interface over a pino child; given to every MatrixClient (`opts.logger`). */
export function sdkLogger(logger: Logger, namespace = 'matrix-js-sdk'): SdkLogger {
  const log = (...msg: unknown[]): void => {
    // Every request logs a line or two: not even joined when debug is off.
    if (logger.isLevelEnabled('debug')) logger.debug({ sdk: namespace }, msg.map(String).join(' '));
  };
  return {
    trace: log,
    debug: log,
    info: log,
    warn: log,
    error: log,
    getChild: (child: string) => sdkLogger(logger, `${namespace}${child}`),
  };
}

/** What loglevel offers to replace its output (matrix-js-sdk types its logger without it). */
interface LoglevelLogger {
  methodFactory: (
    methodName: string,
    level: unknown,
    loggerName: string | symbol,
  ) => (...msg: unknown[]) => void;
  rebuild: () => void;
}

/**
 * Points the SDK's process-wide logger (the one its modules use when no client logger is given) at pino, by
 * replacing loglevel's method factory and rebuilding its methods. Process-wide, so the last caller's logger wins.
 */
export function routeSdkLogs(logger: Logger): void {
  const global = sdkGlobalLogger as unknown as LoglevelLogger;
  global.methodFactory = (_method, _level, name) => {
    const child = sdkLogger(logger, typeof name === 'string' ? name : 'matrix-js-sdk');
    return (...msg: unknown[]) => child.debug(...msg);
  };
  global.rebuild();
}
