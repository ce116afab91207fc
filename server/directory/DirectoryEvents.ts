import type { PublicUser } from '../../shared/schemas/directory.js';
import type { Logger } from '../logger.js';
import { SafeEmitter } from '../util/SafeEmitter.js';

/**
 * The one way other parts learn about directory changes (the Matrix bridge above all). Every change made through
 * DirectoryService emits exactly one of these, after it is saved.
 */
export interface DirectoryEventMap {
  'user.created': [user: PublicUser];
  'user.updated': [user: PublicUser, changed: string[]];
  'user.disabled': [user: PublicUser];
  'user.enabled': [user: PublicUser];
  'user.deleted': [user: PublicUser];
}

/** Emitted with `safeEmit`: the change is saved already, so a failing listener is logged, not the request's failure. */
export class DirectoryEvents extends SafeEmitter<DirectoryEventMap> {
  /**
   * Runs `cleanup` for each deleted user; its failure is logged as "`what` of a deleted user failed", never thrown
   * (the deletion is saved already). Returns the unsubscribe, safe to call more than once.
   */
  afterUserDeleted(cleanup: (userId: string) => Promise<unknown>, logger: Logger, what: string): () => void {
    const listener = (user: PublicUser): void => {
      cleanup(user.id).catch((err: unknown) =>
        logger.error({ err, userId: user.id }, `${what} of a deleted user failed`),
      );
    };
    this.on('user.deleted', listener);
    return () => void this.off('user.deleted', listener);
  }
}
