import { checkinBench } from './checkin.js';
import { complianceBench } from './compliance.js';
import { daemonBench } from './daemon.js';
import { lessonsBench } from './lessons.js';
import { provinceBench } from './province.js';
import { recorderBench } from './recorder.js';
import { storeBench } from './store.js';
import { syncBench } from './sync.js';
import { visionBench, visionSoak } from './vision.js';

export interface Bench {
  name: string;
  title: string;
  run(): Promise<void>;
}

/** The benchmarks, in the order `npm run bench` runs them. Each module adds its own file here. */
export const benches: Bench[] = [complianceBench, storeBench, lessonsBench, checkinBench, recorderBench, syncBench, visionBench, visionSoak, daemonBench, provinceBench];
