import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The one pino root. Components take `logger.child({ component })`; meetings take a child per meeting.
 * Tokens and passwords are redacted wherever they appear in a logged object.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'opivoice-ucc' },
    redact: {
      paths: [
        'password',
        '*.password',
        'token',
        '*.token',
        'accessToken',
        '*.accessToken',
        'asToken',
        'hsToken',
        '*.asToken',
        '*.hsToken',
        'req.headers.authorization',
        'req.headers.cookie',
      ],
      censor: '[redacted]',
    },
  });
}
