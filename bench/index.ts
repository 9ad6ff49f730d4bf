import { complianceBench } from './compliance.js';
import { storeBench } from './store.js';
import { checkinBench } from './checkin.js';

import { recorderBench } from './recorder.js';
import { visionBench, visionSoak } from './vision.js';
export interface Bench {
  name: string;
  title: string;
  run(): Promise<void>;
}

/** The benchmarks, in the order `npm run bench` runs them. Each module adds its own file here. */
export const benches: Bench[] = [complianceBench, storeBench, checkinBench, recorderBench, visionBench, visionSoak];
