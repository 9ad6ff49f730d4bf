import { describe, expect, it } from 'vitest';
import type { CameraNow } from '../../recorder/status.js';
import { width } from './doctor.js';
import { renderCameras } from './status.js';

describe('status camera lines', () => {
  it('columns line up whatever the ids (16 and 64 characters, CJK names) and never run together', () => {
    const now = Date.parse('2026-03-02T02:00:00Z');
    const base: CameraNow = { camera: '', enabled: true, recording: true, pid: 1, since: now - 3_600_000, lastSegmentEnd: now - 30_000, bitrate: 2_000_000, openGap: null };
    const ids = ['cam-1', 'classroom-3-back', 'a'.repeat(64), '教室三后门'];
    for (const lang of ['en', 'zh'] as const) {
      const lines = renderCameras(
        ids.map((camera, i) => ({ ...base, camera, recording: i % 2 === 0 })),
        lang,
        'Asia/Shanghai',
        now,
      )
        .split('\n')
        .slice(1);
      // the state column starts at the same display column on every line, two spaces at least after the longest id
      const stateCol = lines.map((l, i) => width(l.slice(0, l.indexOf(ids[i]) + ids[i].length)) + (/^ +/.exec(l.slice(l.indexOf(ids[i]) + ids[i].length))?.[0].length ?? 0));
      expect(new Set(stateCol).size, lines.join('\n')).toBe(1);
      expect(stateCol[0]).toBe(2 + 64 + 2);
      expect(lines[2]).toMatch(/a{64} {2}\S/);
    }
  });
});
