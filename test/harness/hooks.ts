import { logger as matrixSdkLogger } from 'matrix-js-sdk/lib/logger.js';
import type { Context } from 'mocha';
import { BaresipPhone } from './baresip.js';
import { startTestStack, stopTestStack } from './testStack.js';

/** Mocha root hooks: the real services start once before the suite and are always torn down after it. */
// matrix-js-sdk logs every HTTP call through its global loglevel logger, whose typings hide setLevel; the
// cast reaches the real loglevel API so that tests print only its warnings.
(matrixSdkLogger as unknown as { setLevel: (level: string) => void }).setLevel('warn');

export const mochaHooks = {
  async beforeAll(this: Context): Promise<void> {
    this.timeout(240_000);
    await startTestStack();
  },
  async afterAll(this: Context): Promise<void> {
    this.timeout(60_000);
    const left = await BaresipPhone.stopAll();
    if (left.length > 0)
      process.stderr.write(`desk phones left running by their suites, stopped: ${left.join(', ')}\n`);
    await stopTestStack();
  },
};
