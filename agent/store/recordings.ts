import type { Store } from './store.js';
import { EvidenceRepo, type RecordingRow } from './evidence.js';
import { Outbox } from './outbox.js';
import { evidenceLog } from './evidence-log.js';
import { clip, complement, longestContinuous, union, type Interval } from '../compliance/intervals.js';

/** Why a camera was not recorded. Stored as-is in recording_gaps.reason. */
export type GapReason =
  | 'camera unreachable'
  | 'auth failed'
  | 'stream stalled'
  | 'ffmpeg exited'
  | 'disk full'
  | 'agent stopped'
  | 'agent crashed'
  /** the camera's settings cannot be used (an unset environment secret): fixed in the config, not at the camera */
  | 'config error'
  /** outside the timetable with `record: timetable` (not a failure) */
  | 'not scheduled';

/** A segment file found cut: not indexed as it is (see migration recorder-2). */
export interface CutRow {
  id: number;
  camera: string;
  run_id: number | null;
  path: string;
  bytes: number;
  sha256: string;
  complete_bytes: number;
  fragments: number;
  repaired_path: string | null;
  found_ms: number;
}

export interface RunRow {
  id: number;
  camera: string;
  started_ms: number;
  ended_ms: number | null;
  end_reason: string | null;
  exit_code: number | null;
}

export interface SegmentRow {
  id: number;
  camera: string;
  run_id: number | null;
  path: string;
  start_ms: number;
  end_ms: number;
  bytes: number;
  sha256: string;
  recovered: number;
}

export interface GapRow {
  id: number;
  camera: string;
  start_ms: number;
  end_ms: number | null;
  reason: string;
  detail: string | null;
}

export interface Coverage {
  camera: string;
  window: Interval;
  /** recorded stretches inside the window, merged (touching segments are one stretch) */
  recorded: Interval[];
  recordedMs: number;
  /** longest stretch where consecutive segments are at most `toleranceMs` apart */
  longestContinuousMs: number;
  /** stored gaps overlapping the window (an open gap ends at the window's end) */
  gaps: Array<Interval & { reason: string; detail: string | null; open: boolean }>;
  /** every unrecorded stretch of the window, with the reason of the stored gap covering most of it */
  uncovered: Array<Interval & { reason: string }>;
}

/**
 * The recorder's tables: runs (one ffmpeg life), segments (via EvidenceRepo, with their outbox
 * record) and gaps with reasons, plus the coverage queries the compliance engine stands on.
 */
export class RecordingRepo {
  private evidence: EvidenceRepo;
  private outbox: Outbox;
  constructor(private store: Store) {
    this.evidence = new EvidenceRepo(store);
    this.outbox = new Outbox(store);
  }

  startRun(camera: string, at: number): number {
    const s = this.store;
    return Number(s.db.prepare('INSERT INTO recording_runs (camera, started_ms, created_ms, expires_ms) VALUES (?, ?, ?, ?)').run(camera, at, s.now(), s.expiresAt(at)).lastInsertRowid);
  }

  endRun(id: number, at: number, reason: string, exitCode: number | null): void {
    this.store.db.prepare('UPDATE recording_runs SET ended_ms = ?, end_reason = ?, exit_code = ? WHERE id = ? AND ended_ms IS NULL').run(at, reason, exitCode, id);
  }

  runExists(id: number): boolean {
    return !!this.store.db.prepare('SELECT 1 FROM recording_runs WHERE id = ?').get(id);
  }

  openRuns(camera: string): RunRow[] {
    return this.store.db.prepare('SELECT * FROM recording_runs WHERE camera = ? AND ended_ms IS NULL ORDER BY id').all(camera) as RunRow[];
  }

  runs(camera: string, since = 0): RunRow[] {
    return this.store.db.prepare('SELECT * FROM recording_runs WHERE camera = ? AND started_ms >= ? ORDER BY id').all(camera, since) as RunRow[];
  }

  /** Index one closed segment; when it starts a new stretch, the camera's open gap closes at its start. */
  addSegment(r: RecordingRow): { id: number; closedGap?: GapRow } {
    return this.store.tx(() => {
      const id = this.evidence.addRecording(r);
      // an empty file (video never arrived) does not end a gap
      const closedGap = r.end > r.start ? this.closeGap(r.camera, r.start) : undefined;
      return { id, closedGap };
    });
  }

  /** Is this file accounted for: indexed as a segment, or described as a cut file? */
  hasPath(path: string): boolean {
    return !!this.store.db.prepare('SELECT 1 FROM recordings WHERE path = ? UNION ALL SELECT 1 FROM recording_cuts WHERE path = ?').get(path, path);
  }

  /**
   * Record a cut file and, when its whole fragments were copied, index the copy as the segment,
   * in one transaction (so a crash between them leaves neither, and recovery redoes both).
   */
  addCut(c: Omit<CutRow, 'id'>, repaired?: RecordingRow): { cutId: number; segment?: { id: number; closedGap?: GapRow } } {
    return this.store.tx(() => {
      const s = this.store;
      const segment = repaired ? this.addSegment(repaired) : undefined;
      const cutId = Number(
        s.db
          .prepare(
            'INSERT INTO recording_cuts (camera, run_id, path, bytes, sha256, complete_bytes, fragments, repaired_path, found_ms, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          )
          .run(c.camera, c.run_id, c.path, c.bytes, c.sha256, c.complete_bytes, c.fragments, c.repaired_path, c.found_ms, s.now(), s.expiresAt(c.found_ms)).lastInsertRowid,
      );
      evidenceLog(s).row('recording_cuts', [cutId], { fresh: true });
      return { cutId, segment };
    });
  }

  cuts(camera: string): CutRow[] {
    return this.store.db.prepare('SELECT * FROM recording_cuts WHERE camera = ? ORDER BY id').all(camera) as CutRow[];
  }

  knownPaths(camera: string): Set<string> {
    return new Set(this.store.db.prepare('SELECT path FROM recordings WHERE camera = ? UNION ALL SELECT path FROM recording_cuts WHERE camera = ?').pluck().all(camera, camera) as string[]);
  }

  segmentsOfRun(runId: number): SegmentRow[] {
    return this.store.db.prepare('SELECT * FROM recordings WHERE run_id = ? ORDER BY start_ms').all(runId) as SegmentRow[];
  }

  segments(camera: string, w?: Interval): SegmentRow[] {
    if (!w) return this.store.db.prepare('SELECT * FROM recordings WHERE camera = ? ORDER BY start_ms').all(camera) as SegmentRow[];
    return this.store.db.prepare('SELECT * FROM recordings WHERE camera = ? AND start_ms < ? AND end_ms > ? AND deleted_ms IS NULL ORDER BY start_ms').all(camera, w.end, w.start) as SegmentRow[];
  }

  /** Bytes and recorded milliseconds of a camera's segments starting in [from, to): its measured bitrate (`plan`). */
  recordedRate(camera: string, from: number, to: number): { bytes: number; ms: number; segments: number } {
    const r = this.store.db
      .prepare(
        'SELECT COALESCE(SUM(bytes), 0) AS bytes, COALESCE(SUM(end_ms - start_ms), 0) AS ms, COUNT(*) AS segments FROM recordings WHERE camera = ? AND start_ms >= ? AND start_ms < ? AND end_ms > start_ms',
      )
      .get(camera, from, to) as { bytes: number; ms: number; segments: number };
    return r;
  }

  /** the segment stored for a file, if any */
  segmentByPath(path: string): SegmentRow | undefined {
    return this.store.db.prepare('SELECT * FROM recordings WHERE path = ?').get(path) as SegmentRow | undefined;
  }

  /** one segment by its id (`vision scan RECORDING_ID`) */
  segment(id: number): SegmentRow | undefined {
    return this.store.db.prepare('SELECT * FROM recordings WHERE id = ?').get(id) as SegmentRow | undefined;
  }

  /** the newest segments still on disk, newest first (doctor hashes them again) */
  newestSegments(limit: number): SegmentRow[] {
    return this.store.db.prepare('SELECT * FROM recordings WHERE deleted_ms IS NULL ORDER BY id DESC LIMIT ?').all(limit) as SegmentRow[];
  }

  lastSegment(camera: string): SegmentRow | undefined {
    return this.store.db.prepare('SELECT * FROM recordings WHERE camera = ? ORDER BY end_ms DESC LIMIT 1').get(camera) as SegmentRow | undefined;
  }

  /** Video bytes and recorded ms of a camera's segments ending after `since` (its measured bitrate). */
  volumeSince(camera: string, since: number): { bytes: number; ms: number } {
    const r = this.store.db
      .prepare('SELECT COALESCE(SUM(bytes), 0) AS bytes, COALESCE(SUM(end_ms - start_ms), 0) AS ms FROM recordings WHERE camera = ? AND end_ms > ? AND deleted_ms IS NULL')
      .get(camera, since) as { bytes: number; ms: number };
    return r;
  }

  openGapOf(camera: string): GapRow | undefined {
    return this.store.db.prepare('SELECT * FROM recording_gaps WHERE camera = ? AND end_ms IS NULL ORDER BY id DESC LIMIT 1').get(camera) as GapRow | undefined;
  }

  /**
   * Open a gap unless one is already open for the camera (the first reason is the cause; later
   * failures while it is open add nothing new). Returns the open gap either way.
   */
  openGap(camera: string, start: number, reason: GapReason, detail?: string): { gap: GapRow; created: boolean } {
    return this.store.tx(() => {
      const open = this.openGapOf(camera);
      if (open) return { gap: open, created: false };
      const s = this.store;
      const id = Number(
        s.db
          .prepare('INSERT INTO recording_gaps (camera, start_ms, reason, detail, created_ms, expires_ms, sync_state) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(camera, start, reason, detail ?? null, s.now(), s.expiresAt(start), 'pending').lastInsertRowid,
      );
      evidenceLog(s).row('recording_gaps', [id], { fresh: true });
      this.outbox.enqueue('recording-gap', start, { id, camera, start, end: null, reason, detail: detail ?? null });
      return { gap: { id, camera, start_ms: start, end_ms: null, reason, detail: detail ?? null }, created: true };
    });
  }

  /** Close the camera's open gap at `end` (never before its start). Returns the closed gap. */
  closeGap(camera: string, end: number): GapRow | undefined {
    return this.store.tx(() => {
      const open = this.openGapOf(camera);
      if (!open) return undefined;
      const at = Math.max(end, open.start_ms);
      this.store.db.prepare('UPDATE recording_gaps SET end_ms = ? WHERE id = ?').run(at, open.id);
      evidenceLog(this.store).row('recording_gaps', [open.id]);
      this.outbox.enqueue('recording-gap', open.start_ms, { id: open.id, camera, start: open.start_ms, end: at, reason: open.reason, detail: open.detail });
      return { ...open, end_ms: at };
    });
  }

  gaps(camera: string, w?: Interval): GapRow[] {
    if (!w) return this.store.db.prepare('SELECT * FROM recording_gaps WHERE camera = ? ORDER BY start_ms').all(camera) as GapRow[];
    return this.store.db.prepare('SELECT * FROM recording_gaps WHERE camera = ? AND start_ms < ? AND (end_ms IS NULL OR end_ms > ?) ORDER BY start_ms').all(camera, w.end, w.start) as GapRow[];
  }

  restarts(camera: string, since = 0): number {
    const n = this.store.db.prepare('SELECT COUNT(*) FROM recording_runs WHERE camera = ? AND started_ms >= ?').pluck().get(camera, since) as number;
    return Math.max(0, n - 1);
  }

  /** Recordings of some cameras in a window, in the compliance engine's form. */
  recordingsFor(cameras: readonly string[], w: Interval): Array<{ camera: string; start: number; end: number }> {
    return cameras.flatMap((c) => this.segments(c, w).map((s) => ({ camera: c, start: s.start_ms, end: s.end_ms })));
  }

  /** What is and is not on video for a camera in a window, and why. */
  coverage(camera: string, w: Interval, toleranceMs: number): Coverage {
    const segs = this.segments(camera, w).map((s) => ({ start: s.start_ms, end: s.end_ms }));
    const recorded = union(clip(segs, w));
    const gaps = this.gaps(camera, w).map((g) => ({
      start: Math.max(g.start_ms, w.start),
      end: Math.min(g.end_ms ?? w.end, w.end),
      reason: g.reason,
      detail: g.detail,
      open: g.end_ms === null,
    }));
    const uncovered = complement(recorded, w).map((u) => {
      let best = { reason: 'not recorded', overlap: 0 };
      for (const g of gaps) {
        const overlap = Math.min(u.end, g.end) - Math.max(u.start, g.start);
        if (overlap > best.overlap) best = { reason: g.reason, overlap };
      }
      return { start: u.start, end: u.end, reason: best.reason };
    });
    return {
      camera,
      window: w,
      recorded,
      recordedMs: recorded.reduce((s, i) => s + i.end - i.start, 0),
      longestContinuousMs: longestContinuous(segs, w, toleranceMs),
      gaps,
      uncovered,
    };
  }
}
