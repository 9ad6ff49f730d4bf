import type { Migration } from '../migrate.js';
import { checkin, checkin2, checkin3 } from './checkin.js';
import { consoleMigration } from './console.js';
import { foundation } from './foundation.js';
import { inspection } from './inspection.js';
import { recorder } from './recorder.js';
import { recorderCuts } from './recorder2.js';
import { retentionChain } from './retention.js';
import { evidenceLog } from './evidence.js';
import { evidenceRawPointer } from './evidence2.js';
import { syncMigration } from './sync.js';
import { vision } from './vision.js';
import { privacy } from './privacy.js';
import { vision2 } from './vision2.js';

/** Every migration, in the order a new box applies them. Append only. */
export const MIGRATIONS: readonly Migration[] = [
  foundation,
  recorder,
  checkin,
  vision,
  syncMigration,
  checkin2,
  retentionChain,
  inspection,
  recorderCuts,
  checkin3,
  privacy,
  vision2,
  evidenceLog,
  consoleMigration,
  evidenceRawPointer,
];
