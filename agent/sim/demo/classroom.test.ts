import { describe, expect, it } from 'vitest';
import { ENROLLED, PEOPLE } from '../faces/people.js';
import { lcg, seatPlan } from '../faces/generate.js';
import { DEMO_FIXTURE, DEMO_TIMETABLE } from './classroom.js';
import { DEMO_VISION } from './rig.js';

/**
 * The simulated camera loops the fixture's frames at 1 per second; the daemon samples one frame
 * every sampleEverySeconds and names a trainee once minFrames of a lesson's frames agree. Whatever
 * the loop's phase when a lesson starts, every enrolled person must be in at least minFrames of
 * the frames that lesson samples, or the demo fails `trainee-on-camera` with nothing wrong in
 * recognition (as it did for S11, seated in 1 of the 12 frames).
 */
describe('the demo classroom can show every trainee in every lesson', () => {
  // runDemo's default lesson, and `classroom-agent demo`'s (--lesson-seconds defaults to 60)
  it.each([DEMO_TIMETABLE.lessonSeconds, 60])('puts each enrolled person in >= minFrames of the frames any %i s lesson samples', (lessonSeconds) => {
    const jobs = seatPlan(PEOPLE, DEMO_FIXTURE.frames, DEMO_FIXTURE.appearances, lcg(DEMO_FIXTURE.seed));
    const loop = DEMO_FIXTURE.frames; // seconds: one frame per second
    const every = DEMO_VISION.sampleEverySeconds;
    const samples = Math.floor(lessonSeconds / every);
    const worst = new Map<string, number>();
    for (let phase = 0; phase < loop; phase++) {
      const shown = Array.from({ length: samples }, (_, j) => (phase + j * every) % loop);
      for (const p of PEOPLE.filter((x) => ENROLLED.has(x.id))) {
        const n = shown.filter((f) => jobs.some((j) => j.frame === f && j.person.id === p.id)).length;
        worst.set(p.id, Math.min(worst.get(p.id) ?? Infinity, n));
      }
    }
    expect(worst.size).toBe(ENROLLED.size);
    for (const [person, n] of worst) expect(n, person).toBeGreaterThanOrEqual(DEMO_VISION.minFrames);
  });
});
