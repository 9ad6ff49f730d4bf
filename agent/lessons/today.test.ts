import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { renderToday } from '../cli/commands/status.js';
import { configSchema } from '../config/schema.js';
import { ClassRepo } from '../store/classes.js';
import { EvidenceRepo } from '../store/evidence.js';
import { Store } from '../store/store.js';
import { today } from './today.js';

const MIN = 60_000;
const S = Date.UTC(2025, 9, 8, 0, 0, 0); // 08:00 Beijing
let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

it('summarises today’s lessons: recorded, longest stretch, seen, risk, verdict', () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-today-'));
  const store = new Store({ file: path.join(dir, 'e.db') });
  const cfg = configSchema.parse({});
  new ClassRepo(store).save(
    {
      id: 'HN-1',
      room: 'room-1',
      timezone: 'Asia/Shanghai',
      trainees: [
        { id: 'S01', terminalIds: [] },
        { id: 'S02', terminalIds: [] },
      ],
      teachers: [{ id: 'T01', certified: true }],
      lessons: [
        { id: 'L1', kind: 'practical', start: S, end: S + 45 * MIN, cameras: ['cam-1'], makeUp: false },
        { id: 'L2', kind: 'theory', start: S + 55 * MIN, end: S + 100 * MIN, cameras: ['cam-1'], makeUp: false },
        { id: 'X', kind: 'theory', start: S + 86_400_000, end: S + 86_400_000 + 45 * MIN, cameras: [], makeUp: false },
      ],
    },
    'henan-2025',
  );
  const ev = new EvidenceRepo(store);
  ev.addRecording({ camera: 'cam-1', path: '/v/1.mp4', start: S, end: S + 12 * MIN, bytes: 1, sha256: 'x' });
  ev.addSightings([{ trainee: 'S01', camera: 'cam-1', at: S + 5 * MIN }]);
  const d = today(store, cfg, S + 20 * MIN);
  expect(d.lessons.map((l) => l.lessonId)).toEqual(['L1', 'L2']);
  expect(d.lessons[0]).toMatchObject({ phase: 'on', recordedMs: 12 * MIN, longestMs: 12 * MIN, seen: 1, trainees: 2, state: 'at-risk', reasons: ['camera-down'], verdict: null });
  expect(d.lessons[1]).toMatchObject({ phase: 'upcoming', state: 'ok' });
  const text = renderToday(d, 'en', 'Asia/Shanghai');
  expect(text).toContain('08:00-08:45');
  expect(text).toContain('recorded 12 min, longest 12 min, seen 1/2 [camera down]');
  store.close();
});
