import { describe, expect, it } from 'vitest';
import { PEOPLE } from './people.js';
import { SEATS, lcg, seatPlan } from './generate.js';

describe('seating plan of the classroom fixture', () => {
  it('seats every person in exactly `appearances` distinct frames, never two in one seat', () => {
    const jobs = seatPlan(PEOPLE, 12, 4, lcg(60));
    expect(jobs.length).toBe(PEOPLE.length * 4);
    for (const p of PEOPLE) {
      const frames = jobs.filter((j) => j.person.id === p.id).map((j) => j.frame);
      expect(new Set(frames).size, p.id).toBe(4);
    }
    const seats = new Set(jobs.map((j) => `${j.frame}/${j.seat}`));
    expect(seats.size).toBe(jobs.length);
    expect(jobs.every((j) => j.seat >= 0 && j.seat < SEATS)).toBe(true);
  });

  it('refuses more appearances than the seats hold instead of dropping the last people', () => {
    // 22 × 5 = 110 > 12 × 8 = 96: the demo once asked for this and P6c (S11) got 1 frame, P6d none
    expect(() => seatPlan(PEOPLE, 12, 5, lcg(60))).toThrow(/do not fit/);
    expect(() => seatPlan(PEOPLE, 4, 4, lcg(60))).toThrow(/do not fit/);
  });
});
