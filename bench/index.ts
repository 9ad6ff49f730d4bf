import { checkinBench } from './checkin.js';
import { edgeBench } from './edge.js';
import { complianceBench } from './compliance.js';
import { consoleBench } from './console.js';
import { daemonBench } from './daemon.js';
import { evidenceBench } from './evidence.js';
import { lessonsBench } from './lessons.js';
import { provinceBench } from './province.js';
import { centralVerifyBench } from './central-verify.js';
import { recorderBench } from './recorder.js';
import { storeBench } from './store.js';
import { syncBench } from './sync.js';
import { visionBench, visionSoak } from './vision.js';
import { visionAccuracy } from './vision-accuracy.js';

export interface Bench {
  name: string;
  title: string;
  run(): Promise<void>;
}

/** The benchmarks, in the order `npm run bench` runs them. Each module adds its own file here. */
export const benches: Bench[] = [
  complianceBench,
  storeBench,
  lessonsBench,
  checkinBench,
  edgeBench,
  evidenceBench,
  recorderBench,
  syncBench,
  visionBench,
  visionSoak,
  visionAccuracy,
  daemonBench,
  provinceBench,
  centralVerifyBench,
  consoleBench,
];
