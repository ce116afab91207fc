import type { PublicUser } from '../../shared/schemas/directory.js';
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
export class DirectoryEvents extends SafeEmitter<DirectoryEventMap> {}
