import type { Logger } from './logger.js';

/**
 * Process-wide last resorts, installed once by main.ts. A forgotten promise must not take the service down with
 * every call in it: an unhandled rejection is logged (it is a bug to fix) and we keep serving. After a throw that
 * nobody caught our state is unknown, so an uncaught exception is logged as fatal and ends in a clean shutdown
 * (children included) with a non-zero code, for the service manager to restart us.
 */
export function installProcessGuards(
  logger: Logger,
  shutdown: (reason: string, code: number) => Promise<unknown>,
): void {
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception; shutting down');
    shutdown('uncaught exception', 1).catch(() => process.exit(1));
  });
}
