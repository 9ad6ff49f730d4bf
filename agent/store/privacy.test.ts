import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCheckin } from '../checkin/harness.js';
import { request } from '../sim/terminals/httpc.js';
import { purgeExpired } from '../retention/purge.js';
import { sealDescriptor, sealPhoto } from '../vision/gallery.js';
import { loadOrCreateKey } from '../vision/keyfile.js';
import { ClassRepo } from './classes.js';
import { FaceRepo } from './faces.js';
import { FACE_GRACE_MS, PURGE_PLAN, RETAINED_WITH } from './retention.js';
import { Store } from './store.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 9, 5, 0, 0, 0);
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-privacy-'));
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
};

/**
 * Every file under `dir` holding any part of `needle`: 24-byte slices every 64 bytes are searched,
 * because SQLite may split a long value across pages (overflow pages), so the whole value is not
 * contiguous in the file.
 */
function filesHolding(dir: string, needle: Buffer): string[] {
  const slices: Buffer[] = [];
  for (let i = 0; i + 24 <= needle.length; i += 64) slices.push(needle.subarray(i, i + 24));
  if (!slices.length) slices.push(needle);
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath, e.name);
    const bytes = fs.readFileSync(p);
    if (slices.some((x) => bytes.includes(x))) out.push(path.relative(dir, p));
  }
  return out;
}

/** A class with trainees T1 (the one whose data goes) and T2, one lesson, consent and sealed face data for both, and face matches. */
function enrolled(dir: string, clock: { now: number }) {
  const store = new Store({ file: path.join(dir, 'evidence.db'), now: () => clock.now });
  const key = loadOrCreateKey(path.join(dir, 'keys', 'face.key'));
  new ClassRepo(store).save(
    {
      id: 'C1',
      timezone: 'Asia/Shanghai',
      trainees: [
        { id: 'T1', terminalIds: ['1001'] },
        { id: 'T2', terminalIds: ['1002'] },
      ],
      teachers: [],
      lessons: [{ id: 'L1', kind: 'theory', start: T0, end: T0 + 3_600_000, cameras: [], makeUp: false } as never],
    },
    'henan-2025',
  );
  const faces = new FaceRepo(store);
  const sealed: Record<string, Buffer[]> = {};
  for (const t of ['T1', 'T2']) {
    faces.giveConsent(t, { recordedBy: 'teacher', method: 'paper' }, T0 - DAY);
    const d = sealDescriptor(
      key,
      t,
      'm1',
      Float32Array.from({ length: 128 }, () => Math.random()),
    );
    const photo = sealPhoto(key, t, crypto.randomBytes(4000));
    faces.addDescriptors(t, [{ model: 'm1', sealed: d, source: 'p.jpg', facePx: 200, sharpness: 1, photo }], false);
    sealed[t] = [d.data, photo.data];
  }
  const match = (trainee: string, at: number) => ({ classId: 'C1', lessonId: 'L1', trainee, camera: 'cam1', at, distance: 0.2, margin: 0.2 });
  faces.recordFrame({ camera: 'cam1', at: T0 + 60_000, faces: 2, matched: 2, unknown: 0 }, [match('T1', T0 + 60_000), match('T2', T0 + 60_000)], 3);
  return { store, faces, sealed, match };
}

describe('retention covers every table', () => {
  it('each table of a fresh store is in the purge plan or named as bounded state', () => {
    const store = new Store({ file: path.join(tmp(), 'e.db') });
    cleanups.push(() => store.close());
    const tables = store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
    expect(tables.filter((t) => !PURGE_PLAN.some((p) => p.table === t) && !(t in RETAINED_WITH))).toEqual([]);
    // and every condition is valid SQL against the real schema
    for (const p of PURGE_PLAN) expect(() => store.db.prepare(`SELECT COUNT(*) FROM ${p.table} WHERE ${p.where}`).get({ now: T0 })).not.toThrow();
  });
});

describe('face data', () => {
  it("after expiry: no row and no file holds the trainee's face data", async () => {
    const dir = tmp();
    const clock = { now: T0 };
    const { store, faces, sealed } = enrolled(dir, clock);
    expect(filesHolding(dir, sealed.T1[0]).length).toBeGreaterThan(0); // the search finds what is there
    // within the grace after the last lesson nothing goes
    clock.now = T0 + FACE_GRACE_MS - DAY;
    await purgeExpired(store, clock.now, 1000);
    expect(faces.enrollment().map((e) => e.trainee)).toEqual(['T1', 'T2']);
    // 30 days after the last lesson the descriptors go; 3 years on, matches, frames, consents and the trainees too
    clock.now = T0 + FACE_GRACE_MS + DAY;
    const p1 = await purgeExpired(store, clock.now, 1000);
    expect(p1.face_descriptors).toBe(2);
    clock.now = T0 + 4 * 365 * DAY;
    const p2 = await purgeExpired(store, clock.now, 1000);
    expect(p2).toMatchObject({ face_matches: 2, vision_frames: 1, face_consents: 2, face_consent_events: 2, trainees: 2 });
    for (const t of ['face_descriptors', 'face_matches', 'face_consents', 'face_consent_events']) expect(store.db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get(), t).toBe(0);
    store.close();
    for (const b of [...sealed.T1, ...sealed.T2]) expect(filesHolding(dir, b)).toEqual([]);
  });

  it('after consent withdrawal: deleted at once, recorded, honoured by later enrollment and matches; no file keeps the bytes', () => {
    const dir = tmp();
    const clock = { now: T0 + 2 * 3_600_000 };
    const { store, faces, sealed, match } = enrolled(dir, clock);
    // the bytes are in the store's files before
    expect(filesHolding(dir, sealed.T1[0]).length).toBeGreaterThan(0);
    expect(faces.revokeConsent('T1', clock.now, { recordedBy: 'office', method: 'written request' })).toBe(1);
    expect(faces.consentHistory('T1').map((e) => e.kind)).toEqual(['given', 'withdrawn']);
    expect(store.db.prepare("SELECT COUNT(*) FROM face_descriptors WHERE trainee = 'T1'").pluck().get()).toBe(0);
    expect(store.db.prepare("SELECT COUNT(*) FROM face_matches WHERE trainee = 'T1'").pluck().get()).toBe(0);
    // T2 untouched
    expect(faces.enrollment()).toEqual([{ trainee: 'T2', model: 'm1', n: 1 }]);
    // later enrollment refused, later matches dropped (whatever gallery the vision worker still holds)
    const key = loadOrCreateKey(path.join(dir, 'keys', 'face.key'));
    expect(() => faces.addDescriptors('T1', [{ model: 'm1', sealed: sealDescriptor(key, 'T1', 'm1', new Float32Array(128)), source: 'x', facePx: 200, sharpness: 1 }], false)).toThrow(/consent/);
    faces.recordFrame({ camera: 'cam1', at: T0 + 120_000, faces: 2, matched: 2, unknown: 0 }, [match('T1', T0 + 120_000), match('T2', T0 + 120_000)], 3);
    expect(
      store.db
        .prepare('SELECT trainee FROM face_matches WHERE at_ms = ?')
        .pluck()
        .all(T0 + 120_000),
    ).toEqual(['T2']);
    store.close();
    for (const b of sealed.T1) expect(filesHolding(dir, b)).toEqual([]);
    // T2's data still there (the search does find what is present)
    expect(filesHolding(dir, sealed.T2[0]).length).toBeGreaterThan(0);
  });
});

describe('ZKTeco uploads: templates, passwords, cards and pictures never reach the disk', () => {
  it('OPERLOG, USERINFO, FP, FACE, BIODATA, photo tables: events kept, secrets stripped before storage', async () => {
    const dir = tmp();
    const s = await startCheckin({ terminals: [{ id: 'zk-1', protocol: 'zkteco', serial: 'ZKP1' }] }, { dir });
    cleanups.push(() => s.stop());
    const secret = (n: number) => crypto.randomBytes(n).toString('base64');
    const fpTmp = secret(900);
    const faceTmp = secret(1500);
    const bioTmp = secret(700);
    const passwd = 'Pw739184';
    const card = '[A1B2C3D4E5]';
    const idNum = '410105200001011234';
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), crypto.randomBytes(3000)]);
    const photoB64 = jpeg.toString('base64');
    const operlog = [
      'OPLOG 4\t0\t2026-10-05 08:00:00\t1001\t0\t0\t0',
      `USER PIN=1001\tName=张三\tPri=0\tPasswd=${passwd}\tCard=${card}\tGrp=1\tTZ=0000000100000000\tVerify=0`,
      `FP PIN=1001\tFID=6\tSize=${fpTmp.length}\tValid=1\tTMP=${fpTmp}`,
      `FACE PIN=1001\tFID=0\tSIZE=${faceTmp.length}\tVALID=1\tTMP=${faceTmp}`,
      `BIODATA Pin=1001\tNo=0\tIndex=0\tValid=1\tDuress=0\tType=9\tMajorVer=5\tMinorVer=8\tFormat=0\tTmp=${bioTmp}`,
      `USERPIC PIN=1001\tFileName=1001.jpg\tSize=${photoB64.length}\tContent=${photoB64}`,
      `IDCARD PIN=1001\tSNNum=99\tIDNum=${idNum}\tName=张三`,
      `NEWTHING PIN=1001\tSecret=${passwd}`,
    ].join('\r\n');
    const q = (table: string) => `${s.base}/iclock/cdata?SN=ZKP1&table=${table}&Stamp=1`;
    for (const [table, body] of [
      ['OPERLOG', operlog],
      ['USERINFO', `USER PIN=1002\tName=李四\tPasswd=${passwd}\tCard=${card}`],
      ['FINGERTMP', `FP PIN=1002\tFID=1\tTMP=${fpTmp}`],
      ['BIODATA', `BIODATA Pin=1002\tType=9\tTmp=${bioTmp}`],
      ['ATTPHOTO', Buffer.concat([Buffer.from('PIN=20261005080000-1001.jpg\nSN=ZKP1\nsize=3004\nCMD=uploadphoto\n'), jpeg])],
      ['BIOPHOTO', `BIOPHOTO PIN=1001\tType=9\tContent=${photoB64}`],
    ] as [string, string | Buffer][]) {
      expect((await request(q(table), { body })).status).toBe(200);
    }
    const kept = (s.ctx.store.db.prepare("SELECT body FROM raw_inputs WHERE path LIKE '%table=OPERLOG%'").pluck().get() as Buffer).toString();
    expect(kept).toContain('OPLOG 4\t0\t2026-10-05 08:00:00\t1001'); // the event stays
    expect(kept).toMatch(/^FP PIN=1001\tFID=6\tSize=\d+\tValid=1\tTMP=\[\d+ bytes not kept\]/m);
    expect(kept).toMatch(/^USER PIN=1001\tName=\[\d+ bytes not kept\]\tPri=0\tPasswd=\[8 bytes not kept\]/m);
    await s.stop();
    cleanups.pop();
    for (const needle of [fpTmp, faceTmp, bioTmp, photoB64, passwd, card, idNum]) {
      expect(filesHolding(dir, Buffer.from(needle)), needle.slice(0, 40)).toEqual([]);
    }
    expect(filesHolding(dir, jpeg)).toEqual([]);
  });

  it('the handshake no longer asks terminals for operation logs', async () => {
    const s = await startCheckin({ terminals: [{ id: 'zk-1', protocol: 'zkteco', serial: 'ZKP1' }] });
    cleanups.push(() => s.stop());
    const r = await request(`${s.base}/iclock/cdata?SN=ZKP1&options=all`);
    expect(r.body).toMatch(/^TransFlag=TransData AttLog$/m);
  });
});
