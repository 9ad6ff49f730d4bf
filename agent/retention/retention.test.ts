import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadProfile } from '../config/profile.js';
import { configSchema } from '../config/schema.js';
import { EventBus } from '../core/bus.js';
import type { AgentContext } from '../core/context.js';
import type { AgentEvents } from '../core/events.js';
import { logger } from '../core/log.js';
import { AlarmRepo } from '../store/alarms.js';
import { EvidenceRepo } from '../store/evidence.js';
import { RetentionRepo } from '../store/retention.js';
import { Store } from '../store/store.js';
import type { DiskSpace } from './disk.js';
import { purgeExpired } from './purge.js';
import { ensureMarker, reconcile, VIDEO_MARKER } from './reconcile.js';
import { Retention } from './retention.js';

const DAY = 86_400_000;
const YEAR = 365.25 * DAY;
const GB = 1024 ** 3;
const NOW = Date.UTC(2029, 0, 15);

let dir: string;
let video: string;
let store: Store;
let clock: number;
let n = 0;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-retention-'));
  video = path.join(dir, 'video');
  clock = NOW;
  store = new Store({ file: path.join(dir, 'evidence.db'), retentionYears: 3, now: () => clock });
  ensureMarker(store, video, 'box-test');
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A real segment file on disk, indexed in the store, recorded at `at`. */
function segment(at: number, opts: { camera?: string; bytes?: number; content?: string } = {}) {
  const camera = opts.camera ?? 'cam-1';
  const file = path.join(video, camera, `${++n}.mp4`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const content = opts.content ?? `segment ${n} of ${camera}`;
  fs.writeFileSync(file, content);
  const sha256 = createHash('sha256').update(content).digest('hex');
  const id = new EvidenceRepo(store).addRecording({ camera, path: file, start: at, end: at + 60_000, bytes: opts.bytes ?? Buffer.byteLength(content), sha256 });
  return { id, file };
}

function context(over: Record<string, unknown> = {}): AgentContext {
  const cfg = configSchema.parse({ paths: { state: dir, video }, retention: { purgeBatch: 100, ...over } });
  return { cfg, profile: loadProfile('henan-2025'), store, bus: new EventBus<AgentEvents>(), log: logger('test'), now: () => clock, paths: { state: dir, video, database: store.file } };
}
const roomy: DiskSpace = { totalBytes: 1000 * GB, availBytes: 900 * GB };
const full: DiskSpace = { totalBytes: 1000 * GB, availBytes: 0 };
const openAlarms = () => new AlarmRepo(store).open().map((a) => a.kind);
const count = (table: string) => store.db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;

describe('metadata purge', () => {
  it('purges expired rows in bounded batches and keeps every unexpired one', async () => {
    const ev = new EvidenceRepo(store);
    const old = NOW - 4 * YEAR;
    ev.addSightings(Array.from({ length: 2500 }, (_, i) => ({ trainee: `S${i}`, camera: 'cam-1', at: old + i })));
    ev.addSightings(Array.from({ length: 10 }, (_, i) => ({ trainee: `S${i}`, camera: 'cam-1', at: NOW - 3 * YEAR + DAY + i })));
    const repo = new RetentionRepo(store);
    expect(repo.purgeBatch('sightings', 'expires_ms < @now', NOW, 1000)).toBe(1000); // one batch is bounded
    expect(await purgeExpired(store, NOW, 1000)).toEqual({ sightings: 1500 });
    expect(count('sightings')).toBe(10);
    // the day the rest expires, they go too
    expect(await purgeExpired(store, NOW + 2 * DAY, 1000)).toEqual({ sightings: 10 });
  });

  it('keeps an expired segment row while its file is still on disk, and open alarms', async () => {
    segment(NOW - 4 * YEAR);
    new AlarmRepo(store).raise('disk-full', 'video', 'x', NOW - 4 * YEAR);
    await purgeExpired(store, NOW, 100);
    expect(count('recordings')).toBe(1);
    expect(count('alarms')).toBe(1);
  });
});

describe('video deletion', () => {
  it('deletes an expired segment file and then its row; never an unexpired one, not even with the disk full', async () => {
    const oldSeg = segment(NOW - 3 * YEAR - DAY);
    const young = Array.from({ length: 5 }, (_, i) => segment(NOW - 3 * YEAR + DAY + i * 1000));
    const ctx = context();
    const r = new Retention(ctx, () => full);
    const pass = await r.pass();
    expect(pass!.videos.deleted).toBe(1);
    expect(fs.existsSync(oldSeg.file)).toBe(false);
    for (const y of young) expect(fs.existsSync(y.file)).toBe(true);
    expect(count('recordings')).toBe(5); // the expired row went with its file in the same pass
    expect(pass!.disk.full).toBe(true);
    expect(openAlarms()).toContain('disk-full');
    // and the store itself refuses to mark an unexpired segment deleted
    expect(new RetentionRepo(store).markDeleted(young[0].id, NOW)).toBe(false);
  });

  it('with an archive configured: copies, verifies the sha256, records archived_ms, then deletes', async () => {
    const seg = segment(NOW - 4 * YEAR);
    const archiveDir = path.join(dir, 'archive');
    const r = new Retention(context({ archiveDir }), () => roomy);
    const pass = await r.pass();
    expect(pass!.videos).toMatchObject({ archived: 1, deleted: 1, kept: [] });
    const copy = path.join(archiveDir, 'cam-1', path.basename(seg.file));
    expect(fs.readFileSync(copy, 'utf8')).toBe(`segment ${n} of cam-1`);
    expect(fs.existsSync(seg.file)).toBe(false);
  });

  it('keeps the segment when the archive cannot be written, or when the copy does not match the indexed hash', async () => {
    const a = segment(NOW - 4 * YEAR);
    const blocked = path.join(dir, 'archive-is-a-file');
    fs.writeFileSync(blocked, 'x');
    let pass = await new Retention(context({ archiveDir: blocked }), () => roomy).pass();
    expect(pass!.videos.deleted).toBe(0);
    expect(fs.existsSync(a.file)).toBe(true);
    expect(openAlarms()).toContain('archive-failed');
    // tampered file: its hash no longer matches the one indexed
    fs.writeFileSync(a.file, 'tampered');
    pass = await new Retention(context({ archiveDir: path.join(dir, 'archive') }), () => roomy).pass();
    expect(pass!.videos.kept[0].reason).toMatch(/differs from the indexed/);
    expect(fs.existsSync(a.file)).toBe(true);
    expect(store.db.prepare('SELECT archived_ms, deleted_ms FROM recordings').get()).toEqual({ archived_ms: null, deleted_ms: null });
  });

  it('catches up on a backlog batch after batch in one pass (purgeBatch 100, 250 expired segments)', async () => {
    const old = Array.from({ length: 250 }, (_, i) => segment(NOW - 4 * YEAR + i * 60_000));
    const keep = segment(NOW - DAY);
    const pass = await new Retention(context(), () => roomy).pass();
    expect(pass!.videos.deleted).toBe(250);
    expect(old.filter((o) => fs.existsSync(o.file))).toEqual([]);
    expect(fs.existsSync(keep.file)).toBe(true);
  });

  it('never deletes a file outside the video folder, whatever the row says', async () => {
    const outside = path.join(dir, 'not-video.mp4');
    fs.writeFileSync(outside, 'x');
    new EvidenceRepo(store).addRecording({ camera: 'cam-1', path: outside, start: NOW - 4 * YEAR, end: NOW - 4 * YEAR + 1, bytes: 1, sha256: 'x' });
    const pass = await new Retention(context(), () => roomy).pass();
    expect(pass!.videos.kept[0].reason).toMatch(/outside the video folder/);
    expect(fs.existsSync(outside)).toBe(true);
  });
});

describe('disk budget and forecast', () => {
  it('measures bytes/day from the store and alarms 30 days before full', async () => {
    // 7 days at 10 GB/day = 70 GB used of a 200 GB budget: 13 days left
    for (let d = 7; d >= 1; d--) segment(NOW - d * DAY, { bytes: 10 * GB });
    const r = new Retention(context({ diskBudgetBytes: 200 * GB }), () => roomy);
    const { disk } = (await r.pass())!;
    expect(disk.bytesPerDay / GB).toBeCloseTo(10, 0);
    expect(disk.daysUntilFull!).toBeGreaterThan(12.9);
    expect(disk.daysUntilFull!).toBeLessThan(13.1);
    expect(openAlarms()).toEqual(['disk-forecast']);
    // a budget of 1000 GB: 93 days, no alarm (and the open one clears)
    await new Retention(context({ diskBudgetBytes: 1000 * GB }), () => roomy).pass();
    expect(openAlarms()).toEqual([]);
  });

  it('counts expiries ahead: a box in its steady state does not forecast a fill', async () => {
    for (let d = 7; d >= 1; d--) segment(NOW - d * DAY, { bytes: 10 * GB });
    for (let d = 1; d <= 7; d++) segment(NOW - 3 * YEAR + d * DAY - 1000, { bytes: 10 * GB });
    const { disk } = (await new Retention(context({ diskBudgetBytes: 200 * GB }), () => roomy).pass())!;
    expect(disk.daysUntilFull).toBeNull();
  });
});

describe('reconciliation', () => {
  const retentionMs = 3 * YEAR;
  it('reports orphans and missing files, deletes only expired orphans when asked', async () => {
    for (let i = 0; i < 10; i++) segment(NOW - DAY);
    const gone = segment(NOW - DAY);
    fs.rmSync(gone.file);
    const oldOrphan = path.join(video, 'cam-1', 'old-orphan.mp4');
    const newOrphan = path.join(video, 'cam-1', 'new-orphan.mp4');
    fs.writeFileSync(oldOrphan, 'o');
    fs.writeFileSync(newOrphan, 'o');
    const t = (NOW - 4 * YEAR) / 1000;
    fs.utimesSync(oldOrphan, t, t);
    // the database must not look younger than the orphan for deletion to be allowed
    store.db.prepare('UPDATE schema_migrations SET applied_ms = ?').run(NOW - 5 * YEAR);
    const rep = await reconcile(store, { videoDir: video, now: NOW, retentionMs, deleteOrphans: true });
    expect(rep.suspicious).toBeNull();
    expect(rep.orphans.sort()).toEqual([newOrphan, oldOrphan].sort());
    expect(rep.missing).toEqual([gone.file]);
    expect(rep.deleted).toEqual([oldOrphan]);
    expect(fs.existsSync(newOrphan)).toBe(true);
  });

  it('refuses to delete anything when the store is empty, far smaller than the disk, new, or the disk unmounted', async () => {
    const files = Array.from({ length: 20 }, (_, i) => {
      const f = path.join(video, 'cam-1', `${i}.mp4`);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, 'v');
      const t = (NOW - 4 * YEAR) / 1000;
      fs.utimesSync(f, t, t);
      return f;
    });
    // empty store
    let rep = await reconcile(store, { videoDir: video, now: NOW, retentionMs, deleteOrphans: true });
    expect(rep.suspicious).toMatch(/no segments/);
    expect(rep.deleted).toEqual([]);
    // store with far fewer rows than files
    for (let i = 0; i < 3; i++) segment(NOW - DAY);
    rep = await reconcile(store, { videoDir: video, now: NOW, retentionMs, deleteOrphans: true });
    expect(rep.suspicious).toMatch(/lists 3 segments for 23 files/);
    expect(rep.deleted).toEqual([]);
    for (const f of files) expect(fs.existsSync(f)).toBe(true);
    // a new database next to old files it does not know
    for (let i = 0; i < 30; i++) segment(NOW - DAY);
    rep = await reconcile(store, { videoDir: video, now: NOW, retentionMs, deleteOrphans: true });
    expect(rep.suspicious).toMatch(/younger/);
    expect(rep.deleted).toEqual([]);
    // the marker gone: the video disk is not mounted
    fs.rmSync(path.join(video, VIDEO_MARKER));
    rep = await reconcile(store, { videoDir: video, now: NOW, retentionMs, deleteOrphans: true });
    expect(rep.suspicious).toMatch(/mounted/);
  });

  it('a retention pass with a suspicious store raises an alarm and deletes nothing', async () => {
    const f = path.join(video, 'cam-1', 'x.mp4');
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, 'v');
    const pass = await new Retention(context(), () => roomy).pass({ reconcile: true });
    expect(pass!.reconcile!.suspicious).toMatch(/no segments/);
    expect(openAlarms()).toContain('store-suspicious');
    expect(fs.existsSync(f)).toBe(true);
  });
});
