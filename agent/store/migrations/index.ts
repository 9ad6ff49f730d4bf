import type { Migration } from '../migrate.js';
import { foundation } from './foundation.js';
import { retentionChain } from './retention.js';

/** Every migration, in the order a new box applies them. Append only. */
export const MIGRATIONS: readonly Migration[] = [foundation, retentionChain];
