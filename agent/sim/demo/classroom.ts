import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ClassPlan } from '../../classes/classfile.js';
import type { Config } from '../../config/schema.js';
import { requireFfmpeg } from '../../ffmpeg/caps.js';
import { locate } from '../../ffmpeg/locate.js';
import { ClassRepo } from '../../store/classes.js';
import { FaceRepo } from '../../store/faces.js';
import type { Store } from '../../store/store.js';
import { enrollTrainee } from '../../vision/enroll.js';
import { makeClassroomFixture } from '../faces/generate.js';

export interface DemoClassroom {
  /** printf pattern of the looped JPEG frames the simulated camera shows */
  frames: string;
  trainees: ClassPlan['trainees'];
  /** trainee id → enrollment photos */
  photos: Map<string, string[]>;
  /** trainee id → ZKTeco PIN */
  pins: Map<string, string>;
}

export interface DemoTimetable {
  /** first lesson starts this long after now */
  leadSeconds: number;
  lessonSeconds: number;
  breakSeconds: number;
}

/** The demo's timetable unless told otherwise (lessons under a minute, demo-minutes profile). */
export const DEMO_TIMETABLE: DemoTimetable = { leadSeconds: 15, lessonSeconds: 50, breakSeconds: 5 };

/**
 * The classroom video the simulated camera loops: the vision fixture with the options the vision
 * end-to-end test validates (12 frames, everyone in 4 of them, seed 60). 22 people × 4 fill 88 of
 * the 96 seats; 5 appearances do not fit (110 > 96) and used to leave the last people of the
 * list in 1 frame or none (S11 in one frame: never the minFrames = 2 a sighting needs). A loop of
 * 12 s sampled every 5 s shows a 50 s lesson 10 of the 12 frames, so each trainee in 2 or more
 * (a 60 s lesson, the CLI's default, all 12: each trainee in 4).
 */
export const DEMO_FIXTURE = { frames: 12, appearances: 4, seed: 60 } as const;

/**
 * The demo's classroom: people cut from face-api's sample photos, seated in a 1080p frame
 * (the vision fixture), the frames extracted to JPEGs for the simulated camera, and a class whose
 * roster is the enrolled half of those people plus one trainee who never comes (S12), so the
 * verdict shows what the rules catch. Lessons are a minute long under the demo-minutes profile.
 */
export async function makeDemoClassroom(dir: string): Promise<DemoClassroom> {
  const fixture = await makeClassroomFixture({ dir, ...DEMO_FIXTURE, name: 'classroom.mp4' });
  const pattern = path.join(dir, 'frame%02d.jpg');
  requireFfmpeg(locate('ffmpeg'), { encoders: ['mjpeg'], muxers: ['image2'], demuxers: ['mov'] });
  const r = spawnSync(locate('ffmpeg'), ['-loglevel', 'error', '-y', '-i', fixture.video, '-start_number', '0', '-q:v', '3', pattern], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`extracting demo frames failed: ${r.stderr}`);
  if (!fs.existsSync(path.join(dir, 'frame00.jpg'))) throw new Error('extracting demo frames produced no file');

  const photos = new Map<string, string[]>();
  const pins = new Map<string, string>();
  const trainees: ClassPlan['trainees'] = [];
  fixture.enrolled.forEach((e, i) => {
    const id = `S${String(i + 1).padStart(2, '0')}`;
    photos.set(id, e.photos);
    pins.set(id, String(1001 + i));
    trainees.push({ id, name: `demo ${e.person}`, terminalIds: [String(1001 + i)] });
  });
  const absent = `S${String(trainees.length + 1).padStart(2, '0')}`;
  trainees.push({ id: absent, name: 'demo absent', terminalIds: [String(1001 + trainees.length)] });

  return { frames: pattern, photos, pins, trainees };
}

/** The demo class: three short lessons (theory, then practical) starting `leadSeconds` from now. */
export function scheduleDemoClass(c: DemoClassroom, now: number, tt: DemoTimetable): ClassPlan {
  const kinds = ['theory', 'practical', 'practical'] as const;
  const start0 = Math.ceil((now + tt.leadSeconds * 1000) / 1000) * 1000;
  const lessons = kinds.map((kind, i) => {
    const start = start0 + i * (tt.lessonSeconds + tt.breakSeconds) * 1000;
    return { id: `L0${i + 1}`, kind, start, end: start + tt.lessonSeconds * 1000, cameras: ['cam-1'], makeUp: false, room: 'room-101' };
  });
  return {
    id: 'DEMO-2025-0001',
    name: '演示班 Demo class',
    profile: 'demo-minutes',
    room: 'room-101',
    timezone: 'Asia/Shanghai',
    workstations: 3,
    trainees: c.trainees,
    teachers: [{ id: 'T01', certified: true }],
    lessons,
  };
}

/**
 * Consent and enrollment of the demo class, as a school does with `consent` and `enroll`: every
 * photo that passes the quality check (two views of a face match a classroom's angles and light
 * better than one). `skipped` hears each photo refused and why.
 */
export async function enrollDemoClass(cfg: Config, store: Store, c: DemoClassroom, skipped: (trainee: string, why: string) => void = () => undefined): Promise<void> {
  const faces = new FaceRepo(store);
  // the school's order: the class (its roster) is imported before anyone is enrolled; the
  // lessons come with the real import (importClass), which replaces this one
  new ClassRepo(store).save({ ...scheduleDemoClass(c, Date.now(), { leadSeconds: 0, lessonSeconds: 1, breakSeconds: 0 }), lessons: [] }, cfg.profile);
  for (const [trainee, photos] of c.photos) {
    faces.giveConsent(trainee, { recordedBy: 'demo', method: 'electronic' }, Date.now());
    let enrolled = 0;
    for (const photo of photos) {
      try {
        // photo by photo, so one refused photo does not cost the trainee the other (minPhotos 1);
        // the first replaces what a previous run enrolled; the next add to it
        await enrollTrainee(cfg, store, trainee, [photo], { replace: enrolled === 0, minPhotos: 1 });
        enrolled++;
      } catch (err) {
        skipped(trainee, (err as Error).message);
      }
    }
    if (!enrolled) throw new Error(`no usable enrollment photo for ${trainee}`);
  }
}
