import type { Context } from 'mocha';
import { startTestStack, stopTestStack } from './testStack.js';

/** Mocha root hooks: the real services start once before the suite and are always torn down after it. */
export const mochaHooks = {
  async beforeAll(this: Context): Promise<void> {
    this.timeout(240_000);
    await startTestStack();
  },
  async afterAll(this: Context): Promise<void> {
    this.timeout(60_000);
    await stopTestStack();
  },
};
