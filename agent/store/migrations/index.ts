import type { Migration } from '../migrate.js';
import { checkin, checkin2, checkin3 } from './checkin.js';
import { foundation } from './foundation.js';
import { inspection } from './inspection.js';
import { recorder } from './recorder.js';
import { recorderCuts } from './recorder2.js';
import { retentionChain } from './retention.js';
import { syncMigration } from './sync.js';
import { vision } from './vision.js';

/** Every migration, in the order a new box applies them. Append only. */
export const MIGRATIONS: readonly Migration[] = [foundation, recorder, checkin, vision, syncMigration, checkin2, retentionChain, inspection, recorderCuts, checkin3];
