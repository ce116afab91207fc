import { EventEmitter } from 'node:events';
import type { PublicUser } from '../../shared/schemas/directory.js';

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

export class DirectoryEvents extends EventEmitter<DirectoryEventMap> {}
