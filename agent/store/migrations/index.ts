import type { Migration } from '../migrate.js';
import { checkin, checkin2 } from './checkin.js';
import { foundation } from './foundation.js';
import { inspection } from './inspection.js';
import { recorder } from './recorder.js';
import { retentionChain } from './retention.js';
import { syncMigration } from './sync.js';
import { vision } from './vision.js';

/** Every migration, in the order a new box applies them. Append only. */
export const MIGRATIONS: readonly Migration[] = [foundation, recorder, checkin, vision, syncMigration, checkin2, retentionChain, inspection];
