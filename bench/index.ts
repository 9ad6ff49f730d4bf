import { lessonsBench } from './lessons.js';

export interface Bench {
  name: string;
  title: string;
  run(): Promise<void>;
}

/** The benchmarks, in the order `npm run bench` runs them. Each module adds its own file here. */
export const benches: Bench[] = [lessonsBench];
