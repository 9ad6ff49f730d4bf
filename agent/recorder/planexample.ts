import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { fromWallClock } from '../core/time.js';
import { RecordingRepo } from '../store/recordings.js';
import type { Store } from '../store/store.js';

/**
 * The worked example of docs/recording.md ("plan"), generated: 4 cameras with measured
 * bitrates and a 3-month timetable. plan.test.ts runs `classroom-agent plan` on it and checks
 * the printed figures are the documented ones.
 */
export const EXAMPLE_KBPS: Record<string, { kbps: number; stream: 'main' | 'sub' }> = {
  'cam-1': { kbps: 4096, stream: 'main' },
  'cam-2': { kbps: 4096, stream: 'main' },
  'cam-3': { kbps: 2048, stream: 'main' },
  'cam-4': { kbps: 512, stream: 'sub' },
};

/** Public holidays of spring 2026 on weekdays (Qingming, Labour Day): no lessons. */
const HOLIDAYS = new Set(['2026-04-06', '2026-05-01', '2026-05-04', '2026-05-05', '2026-05-06']);

/** Lesson days: every weekday from Mon 2 March to Fri 29 May 2026 but the holidays: 60 days. */
export function exampleLessonDays(): string[] {
  const days: string[] = [];
  for (let t = Date.UTC(2026, 2, 2); t <= Date.UTC(2026, 4, 29); t += 86_400_000) {
    const d = new Date(t);
    const key = d.toISOString().slice(0, 10);
    if (d.getUTCDay() === 0 || d.getUTCDay() === 6 || HOLIDAYS.has(key)) continue;
    days.push(key);
  }
  return days;
}

/** The config (cameras switched off: their recordings are in the store already) and the class file. */
export function writeExample(dir: string): { config: string; classFile: string } {
  const config = path.join(dir, 'agent.yaml');
  fs.writeFileSync(
    config,
    YAML.stringify({
      paths: { state: path.join(dir, 'state') },
      cameras: Object.entries(EXAMPLE_KBPS).map(([id, c], i) => ({
        id,
        rtspUrl: `rtsp://192.0.2.${10 + i}:554/Streaming/Channels/101`,
        subRtspUrl: `rtsp://192.0.2.${10 + i}:554/Streaming/Channels/102`,
        stream: c.stream,
      })),
      recorder: { schedule: 'timetable', marginBeforeMinutes: 10, marginAfterMinutes: 10 },
    }),
  );
  // two blocks a day, 4 lessons of 60 minutes back to back: 08:00-12:00 and 14:00-18:00
  const schedule = exampleLessonDays().flatMap((d) => [
    { kind: 'practical', start: `${d} 08:00`, lessons: 4, minutes: 60 },
    { kind: 'theory', start: `${d} 14:00`, lessons: 4, minutes: 60 },
  ]);
  const classFile = path.join(dir, 'class.yaml');
  fs.writeFileSync(classFile, YAML.stringify({ id: 'welding-2026-spring', timezone: 'Asia/Shanghai', trainees: ['t01'], teachers: [{ id: 'teacher-1', certified: true }], schedule }));
  return { config, classFile };
}

/** One hour of recordings per camera yesterday at its bitrate: what `plan` measures. */
export function recordExampleSegments(store: Store, now: number): void {
  const repo = new RecordingRepo(store);
  const start = now - 86_400_000;
  for (const [cam, c] of Object.entries(EXAMPLE_KBPS)) {
    const run = repo.startRun(cam, start);
    for (let i = 0; i < 60; i++) {
      const s = start + i * 60_000;
      repo.addSegment({ camera: cam, runId: run, path: `/example/${cam}/${i}.mp4`, start: s, end: s + 60_000, bytes: (c.kbps * 1000 * 60) / 8, sha256: '0'.repeat(64) });
    }
    repo.endRun(run, start + 3600_000, 'not scheduled', 0);
  }
}

export const exampleNow = () => fromWallClock({ year: 2026, month: 6, day: 1, hour: 12 });
