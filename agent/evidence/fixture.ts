import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseAttlog } from '../checkin/zkteco/attlog.js';
import { evaluate } from '../compliance/engine.js';
import { loadProfile } from '../config/profile.js';
import { AlarmRepo } from '../store/alarms.js';
import { CheckinRepo } from '../store/checkins.js';
import { ClassRepo } from '../store/classes.js';
import { ConsoleRepo } from '../store/console.js';
import { EvidenceRepo } from '../store/evidence.js';
import { FaceRepo } from '../store/faces.js';
import { RecordingRepo } from '../store/recordings.js';
import { Store } from '../store/store.js';
import { Outbox } from '../store/outbox.js';
import type { WireRecord } from '../sync/contract.js';
import { announceKey, signCheckpoint } from './checkpointer.js';
import { loadOrCreateLogKey, type LogKey } from './keys.js';

/**
 * A small box's evidence, written through the store's own write functions (the same paths the
 * daemon uses): a class with roster, teachers and lessons, check-ins parsed by the real ZKTeco
 * ATTLOG parser (one unknown PIN), segment files with their SHA-256, a cut file, a gap, sightings, a verdict,
 * an alarm raised and cleared, a consent; then a signed checkpoint. For tests and the bench.
 */
export const ORIGIN = 'classroom-agent/box-test';
export const T0 = Date.UTC(2026, 2, 2, 0, 0, 0); // 08:00 in Henan

export interface BoxFixture {
  dir: string;
  db: string;
  video: string;
  keys: string;
  key: LogKey;
  origin: string;
  clock: { now: number };
  open(): Store;
}

export function makeBox(dir: string, origin = ORIGIN): BoxFixture {
  const f: BoxFixture = {
    dir,
    db: path.join(dir, 'evidence.db'),
    video: path.join(dir, 'video'),
    keys: path.join(dir, 'keys'),
    key: undefined as unknown as LogKey,
    origin,
    clock: { now: T0 },
    open: () => new Store({ file: f.db, now: () => f.clock.now }),
  };
  fs.mkdirSync(f.video, { recursive: true });
  f.key = loadOrCreateLogKey(f.keys, origin);
  return f;
}

const H = 3600_000;

export function fillBox(f: BoxFixture): void {
  const store = f.open();
  try {
    announceKey(store, f.key, f.origin);
    new ClassRepo(store).save(
      {
        id: 'C1',
        timezone: 'Asia/Shanghai',
        room: 'room-1',
        workstations: 10,
        trainees: [
          { id: 'T1', name: '张三', terminalIds: ['101'] },
          { id: 'T2', name: '李四', terminalIds: ['102'] },
        ],
        teachers: [
          { id: 'K1', name: '王老师', certified: true },
          { id: 'K2', certified: false },
        ],
        lessons: [
          { id: 'L1', kind: 'practical', start: T0 + H, end: T0 + 2 * H, cameras: ['cam1'], makeUp: false },
          { id: 'L2', kind: 'theory', start: T0 + 3 * H, end: T0 + 4 * H, cameras: ['cam1'], makeUp: false },
        ],
      },
      'henan-2025',
    );
    f.clock.now = T0 + H;
    const body = Buffer.from('101\t2026-03-02 08:55:01\t0\t15\t\t0\t0\n102\t2026-03-02 08:56:30\t0\t15\t\t0\t0\n999\t2026-03-02 08:57:00\t0\t1\t\t0\t0\n998\t2026-03-02 08:57:30\t0\t15\t\t0\t0\n');
    new CheckinRepo(store).commit([
      {
        raw: { protocol: 'zkteco', terminal: 't1', channel: 'http', method: 'POST', path: '/iclock/cdata?SN=SN1&table=ATTLOG', contentType: 'text/plain', body, receivedMs: f.clock.now },
        parse: (b) => parseAttlog(b, 't1', 'SN1', 'Asia/Shanghai'),
      },
    ]);
    const rec = new RecordingRepo(store);
    rec.openGap('cam1', T0 + H - 60_000, 'camera unreachable', 'test');
    for (let i = 0; i < 3; i++) {
      const p = path.join(f.video, `cam1-${i}.mp4`);
      const bytes = randomBytes(4096 + i);
      fs.writeFileSync(p, bytes);
      const start = T0 + H + i * 600_000;
      rec.addSegment({ camera: 'cam1', path: p, start, end: start + 600_000, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    }
    // a file the recorder found cut off with no whole fragment: described, kept, never indexed
    const cut = path.join(f.video, 'cam1-cut.mp4');
    const cutBytes = randomBytes(3000);
    fs.writeFileSync(cut, cutBytes);
    rec.addCut({
      camera: 'cam1',
      run_id: null,
      path: cut,
      bytes: cutBytes.length,
      sha256: createHash('sha256').update(cutBytes).digest('hex'),
      complete_bytes: 0,
      fragments: 0,
      repaired_path: null,
      found_ms: f.clock.now,
    });
    new EvidenceRepo(store).addSightings([
      { trainee: 'T1', classId: 'C1', camera: 'cam1', at: T0 + H + 60_000, recordingId: 1, offsetMs: 60_000, distance: 0.41, margin: 0.12 },
      { trainee: 'T2', classId: 'C1', camera: 'cam1', at: T0 + H + 120_000, recordingId: 1, offsetMs: 120_000, distance: 0.38, margin: 0.2 },
    ]);
    const faces = new FaceRepo(store);
    faces.giveConsent('T1', { recordedBy: 'admin', method: 'paper form' }, T0);
    faces.recordFrame(
      { camera: 'cam1', at: T0 + H + 180_000, recordingId: 1, offsetMs: 180_000, classId: 'C1', lessonId: 'L1', faces: 2, matched: 1, unknown: 1 },
      [{ classId: 'C1', lessonId: 'L1', trainee: 'T1', camera: 'cam1', at: T0 + H + 180_000, recordingId: 1, offsetMs: 180_000, distance: 0.4, margin: 0.15 }],
      1,
    );
    // the unknown PIN 998 turns out to be T2's second card: a correction, never an edit
    const checkins = new CheckinRepo(store);
    const unknown = checkins.list({ unknownOnly: true, limit: 10 }).find((c) => c.person === '998')!;
    checkins.correct(unknown.id, { reason: 'remap', trainee: 'T2', classId: 'C1', expiresMs: store.expiresAt(unknown.at) });
    new ConsoleRepo(store).recordAccess({ at: T0 + 2 * H, user: 'insp', role: 'inspector', action: 'view', subject: 'class C1', remote: '127.0.0.1', outcome: 'ok' });
    const alarms = new AlarmRepo(store);
    alarms.raise('camera-down', 'cam1', 'camera cam1 unreachable', T0 + H - 60_000);
    alarms.clear('camera-down', 'cam1', T0 + H);
    const ev = new ClassRepo(store).evidence('C1')!;
    new EvidenceRepo(store).saveVerdict(evaluate(ev, loadProfile('henan-2025')), T0 + 5 * H);
    f.clock.now = T0 + 5 * H;
    signCheckpoint(store, f.key, f.origin);
  } finally {
    store.close();
  }
}

/** What the box's outbox holds after `afterSeq`, as the sync module would send it (the witness tests). */
export function boxOutbox(f: BoxFixture, afterSeq = 0): WireRecord[] {
  const s = f.open();
  try {
    return new Outbox(s).unacked(afterSeq, 10_000).map((r) => ({ id: r.recordId, seq: r.seq, type: r.type, at: r.at, data: r.data }));
  } finally {
    s.close();
  }
}

/** The box carries on: 10 minutes later a class is imported and a checkpoint signed. */
export function growBox(f: BoxFixture, id: string): void {
  const s = f.open();
  f.clock.now += 600_000;
  new ClassRepo(s).save({ id, timezone: 'Asia/Shanghai', trainees: [{ id: `${id}-T`, terminalIds: [] }], teachers: [], lessons: [] }, 'henan-2025');
  signCheckpoint(s, f.key, f.origin);
  s.close();
}

/** The box changes its log key, the change signed by the old key (kept as log.key.previous), and announces it. */
export function rotateKey(f: BoxFixture): void {
  fs.renameSync(path.join(f.keys, 'log.key'), path.join(f.keys, 'log.key.previous'));
  fs.rmSync(path.join(f.keys, 'log.pub'));
  f.key = loadOrCreateLogKey(f.keys, f.origin);
  const s = f.open();
  announceKey(s, f.key, f.origin);
  s.close();
}
