import { sha256File } from '../core/hash.js';
import { canonicalJson, parseEntry } from './canonical.js';
import { hashChildren, hashLeaf } from './merkle.js';
import { openCheckpoint } from './verifier.js';
import { BATCH_KIND, FACT_TABLES, projectRow, refOf, FACTS, type Adoption, type BatchMember, type EvidenceLog, type FactTable, type LogRow } from '../store/evidence-log.js';

export interface Problem {
  /** what failed: the log itself, a checkpoint, an index row, a video file */
  kind: 'tree' | 'entry' | 'checkpoint' | 'row' | 'file';
  where: string;
  detail: string;
}

export interface BoxReport {
  entries: number;
  pruned: number;
  checkpoints: number;
  signedSize: number;
  unsignedTail: number;
  rows: number;
  /** rows taken into the log by an adoption (written before their table entered the log) */
  adopted: number;
  /** the adoptions: when, and how many rows each took in */
  adoptions: Array<{ at: number; rows: number; tables: number }>;
  files: number;
  fileBytes: number;
  problems: Problem[];
  problemCount: number;
  /** false when the time budget ran out; `reached` says how far */
  complete: boolean;
  reached: { entries: number; tables: number };
}

export interface BoxVerifyOptions {
  /** the box's verifier key (log.pub); without it signatures cannot be checked (a problem) */
  vkey?: string;
  origin?: string;
  /** the checkpoint kept beside the key, outside the database (catches a restored database) */
  localCheckpoint?: string;
  /** hash every live segment file (default true) */
  files?: boolean;
  /** stop after this long (doctor's budget); the report says how far it got */
  deadline?: number;
  now?: () => number;
  onProgress?: (r: BoxReport) => void;
}

const PAGE = 2000;
const MAX_LISTED = 200;

/**
 * Verify a box's store against its log, and the log against its signed checkpoints:
 *  1. every entry's leaf hash, and the tree's root recomputed leaf by leaf (a compact range:
 *     O(log n) memory) against every signed checkpoint at its size and the one kept beside the key;
 *  2. every index row against the latest entry for it (corrections supersede), every row with an
 *     entry, every entry's row present unless removed or purged by retention after it expired;
 *  3. every live segment file against the SHA-256 its entry holds; a missing file is a failure.
 * Streams in pages: memory is bounded whatever the size of 3 years of evidence.
 */
export async function verifyBox(log: EvidenceLog, o: BoxVerifyOptions = {}): Promise<BoxReport> {
  const now = o.now ?? Date.now;
  const r: BoxReport = {
    entries: 0,
    pruned: 0,
    checkpoints: 0,
    signedSize: 0,
    unsignedTail: 0,
    rows: 0,
    adopted: 0,
    adoptions: [],
    files: 0,
    fileBytes: 0,
    problems: [],
    problemCount: 0,
    complete: false,
    reached: { entries: 0, tables: 0 },
  };
  const bad = (p: Problem) => {
    r.problemCount++;
    if (r.problems.length < MAX_LISTED) r.problems.push(p);
  };
  const late = () => o.deadline !== undefined && now() > o.deadline;

  // signed checkpoints, in size order, checked as the recomputed tree reaches each size
  const cps: Array<{ size: number; root: Buffer; where: string }> = [];
  const openCp = (note: string, where: string) => {
    if (!o.vkey) return;
    try {
      const c = openCheckpoint(note, o.vkey, o.origin);
      cps.push({ size: c.size, root: c.root, where });
      r.checkpoints++;
    } catch (err) {
      bad({ kind: 'checkpoint', where, detail: (err as Error).message });
    }
  };
  if (!o.vkey) bad({ kind: 'checkpoint', where: 'key', detail: 'no public key (log.pub or --key): signatures not checked' });
  let cpAfter = { size: -1, at: -1 };
  for (;;) {
    const page = log.checkpointPage(cpAfter.size, cpAfter.at, PAGE);
    if (!page.length) break;
    for (const c of page) openCp(c.note, `checkpoint size ${c.size}`);
    const last = page[page.length - 1];
    cpAfter = { size: last.size, at: last.at_ms };
    // why keep only what is ahead: memory stays bounded by checkpoints not yet reached
  }
  if (o.localCheckpoint) openCp(o.localCheckpoint, 'checkpoint beside the key');
  cps.sort((a, b) => a.size - b.size);
  const size = log.size();
  const maxSigned = cps.reduce((m, c) => Math.max(m, c.size), 0);
  r.signedSize = maxSigned;
  if (maxSigned > size)
    bad({ kind: 'tree', where: `log size ${size}`, detail: `shorter than its signed checkpoint of size ${maxSigned}: entries removed from the end, or the database restored from an older copy` });

  // retention purges: a missing row is accepted when its table was purged after the row expired
  const purgedAt = new Map<string, number>();
  for (const p of log.entriesOfKind('purge')) {
    if (!p.entry) continue;
    const d = parseEntry(p.entry).d as { table: string; at: number };
    purgedAt.set(d.table, Math.max(purgedAt.get(d.table) ?? 0, d.at));
  }

  // a log cut: entry bytes may be gone only below the latest logged `pruned` point
  let prunedTo = 0;
  for (const p of log.entriesOfKind('pruned')) if (p.entry) prunedTo = Math.max(prunedTo, (parseEntry(p.entry).d as { upTo: number }).upTo);

  // 1 + 2a: entries in leaf order
  const stack: Array<{ n: number; h: Buffer }> = [];
  const rootNow = () => {
    let h: Buffer | undefined;
    for (let i = stack.length - 1; i >= 0; i--) h = h ? hashChildren(stack[i].h, h) : stack[i].h;
    return h;
  };
  let ci = 0;
  const checkCps = (n: number) => {
    while (ci < cps.length && cps[ci].size <= n) {
      const c = cps[ci++];
      if (c.size === n) {
        const root = n === 0 ? undefined : rootNow();
        if (n > 0 && (!root || !root.equals(c.root)))
          bad({ kind: 'tree', where: c.where, detail: `the log's first ${n} entries do not give the signed root: entries were changed, inserted, removed or reordered` });
      }
    }
  };
  checkCps(0);
  const toHash: Array<{ path: string; sha256: string; where: string }> = [];
  for (let from = 0; ; ) {
    if (late()) return r;
    const page = log.page(from, PAGE);
    if (!page.length) break;
    for (const e of page) {
      if (e.seq !== r.entries) bad({ kind: 'tree', where: `entry ${r.entries}`, detail: `next entry is numbered ${e.seq}: entries removed` });
      if (e.entry) {
        if (!hashLeaf(e.entry).equals(e.leaf)) bad({ kind: 'entry', where: `entry ${e.seq}`, detail: 'entry bytes do not match their leaf hash' });
      } else {
        r.pruned++;
        if (e.seq >= prunedTo) bad({ kind: 'entry', where: `entry ${e.seq}`, detail: 'entry bytes removed, but no logged cut of the log covers it' });
      }
      let leaf = { n: 1, h: e.leaf };
      while (stack.length && stack[stack.length - 1].n === leaf.n) {
        const left = stack.pop()!;
        leaf = { n: left.n * 2, h: hashChildren(left.h, leaf.h) };
      }
      stack.push(leaf);
      r.entries++;
      checkCps(r.entries);
      if (e.kind === 'adopted') r.adopted++;
      else if (e.kind === 'adoption' && e.entry) {
        const a = parseEntry(e.entry).d as Adoption;
        r.adoptions.push({ at: a.at, rows: Object.values(a.rows).reduce((x, y) => x + y, 0), tables: a.tables.length });
      }
      // a raw input's entry without a ref column names its row in its own bytes, and the row points at it (log_seq)
      const ref = e.ref ?? (e.kind === FACTS.raw_inputs.kind && e.entry ? pointedRef(log, e.seq, e.entry, bad) : undefined);
      if (e.kind !== BATCH_KIND && ref && e.entry) await checkEntryRow(log, e.seq, ref, e.entry, purgedAt, bad, o.files !== false ? toHash : undefined);
      // the check-ins an entry carries (a request's raw input, a re-read's batch)
      if ((e.kind === BATCH_KIND || e.kind === FACTS.raw_inputs.kind) && e.entry) checkBatch(log, e, ref ?? undefined, purgedAt, bad);
    }
    from = page[page.length - 1].seq + 1;
    r.reached.entries = r.entries;
    // segment files of this page, hashed before the next page (bounded memory)
    for (const f of toHash.splice(0)) {
      if (late()) return r;
      try {
        const h = await sha256File(f.path);
        r.files++;
        r.fileBytes += h.bytes;
        if (h.sha256 !== f.sha256) bad({ kind: 'file', where: f.path, detail: `SHA-256 differs from the one logged for ${f.where}: the video was replaced or altered` });
      } catch {
        bad({ kind: 'file', where: f.path, detail: `missing: the video of ${f.where} is not on disk and not logged as deleted` });
      }
    }
    o.onProgress?.(r);
  }
  r.unsignedTail = Math.max(0, r.entries - maxSigned);

  // 2b: every row of every evidential table has an entry
  for (const table of FACT_TABLES) {
    if (!log.tableExists(table)) continue;
    for (let after = 0; ; ) {
      if (late()) return r;
      const page = log.tablePage(table, after, PAGE);
      if (!page.length) break;
      for (const row of page) {
        r.rows++;
        const key = FACTS[table].key.map((k) => row[k]);
        // a row whose entry retention cut (the row outlived its expiry: a table retention does not purge) is not checkable, not forged
        if (!log.entryFor(table, key)) bad({ kind: 'row', where: `${table} ${JSON.stringify(key)}`, detail: 'row is not in the evidence log: inserted behind the agent' });
      }
      after = page[page.length - 1]._rid;
    }
    r.reached.tables++;
  }
  r.complete = true;
  return r;
}

async function checkEntryRow(
  log: EvidenceLog,
  seq: number,
  ref: string,
  bytes: Buffer,
  purgedAt: Map<string, number>,
  bad: (p: Problem) => void,
  toHash?: Array<{ path: string; sha256: string; where: string }>,
): Promise<void> {
  // only the latest entry of a row speaks for it now; earlier ones were corrected
  // (a raw input's row points at its entry: a row deleted or a pointer changed leaves no later one, and the row is checked)
  const latest = log.latestOf(ref);
  if (latest && latest.seq > seq) return;
  const [table, ...key] = JSON.parse(ref) as [FactTable, ...unknown[]];
  if (!(table in FACTS)) return;
  const e = parseEntry(bytes);
  const where = `${table} ${JSON.stringify(key)} (entry ${seq})`;
  if (!checkRow(log, table, key, e.d, e.x, where, purgedAt, bad)) return;
  if ((table === 'recordings' || table === 'recording_cuts') && toHash) {
    // a cut file is kept as it was found (what the cut lost is judged from it): hashed like a segment
    const d = e.d as { path: string; sha256: string; deleted_ms: number | null };
    if (d.deleted_ms === null) toHash.push({ path: d.path, sha256: d.sha256, where: `${table === 'recordings' ? 'segment' : 'cut file'} ${JSON.stringify(key)}` });
  }
}

/** A row against the evidence logged for it (d null: logged as removed). True when the row is present and equal. */
function checkRow(
  log: EvidenceLog,
  table: FactTable,
  key: readonly unknown[],
  d: unknown,
  x: number | null | undefined,
  where: string,
  purgedAt: Map<string, number>,
  bad: (p: Problem) => void,
): boolean {
  const row = log.readRow(table, key);
  if (!row) {
    if (d === null) return false; // logged as removed
    const purged = purgedAt.get(table);
    if (purged !== undefined && x !== undefined && x !== null && x < purged) return false; // retention purged it after expiry
    bad({ kind: 'row', where, detail: 'row deleted: it is in the log and was neither removed nor purged by retention' });
    return false;
  }
  if (d === null) {
    bad({ kind: 'row', where, detail: 'row present although the log says it was removed' });
    return false;
  }
  const p = projectRow(table, row);
  if (canonicalJson(p) !== canonicalJson(d)) {
    const logged = d as Record<string, unknown>;
    const fields = Object.keys(p).filter((k) => canonicalJson(p[k]) !== canonicalJson(logged[k]));
    bad({ kind: 'row', where, detail: `changed since logged: ${fields.join(', ')}` });
    return false;
  }
  return true;
}

/**
 * The row a raw-input entry without a ref column stands for (its own `r`), checked against the
 * row's pointer to it: a row present whose log_seq does not lead to this entry (nor to a later one
 * of the row) is reported; the pointer is an index and never trusted.
 */
function pointedRef(log: EvidenceLog, seq: number, entry: Buffer, bad: (p: Problem) => void): string | undefined {
  const r = log.refInEntry(seq, entry);
  const where = `entry ${seq}`;
  if (typeof r !== 'string' || !r.startsWith('["raw_inputs",')) {
    bad({ kind: 'entry', where, detail: 'raw-input entry without a ref column that does not name a raw input' });
    return undefined;
  }
  const key = (JSON.parse(r) as unknown[]).slice(1);
  const latest = log.latestOf(r);
  if ((!latest || latest.seq < seq) && log.readRow('raw_inputs', key))
    bad({ kind: 'row', where: `raw_inputs ${JSON.stringify(key)} (entry ${seq})`, detail: `its log_seq does not point at its log entry ${seq}: the column was changed` });
  return r;
}

/** Every check-in an entry carries (one intake request's, or one re-read's) against its row. */
function checkBatch(log: EvidenceLog, e: LogRow, ref: string | undefined, purgedAt: Map<string, number>, bad: (p: Problem) => void): void {
  let members: Map<number, BatchMember> | undefined;
  try {
    members = log.batch(e);
  } catch (err) {
    bad({ kind: 'entry', where: `entry ${e.seq}`, detail: `unreadable batch of check-ins: ${(err as Error).message}` });
    return;
  }
  if (!members) return;
  const raw = ref ? (JSON.parse(ref) as unknown[])[1] : undefined;
  for (const m of members.values()) {
    const where = `checkins [${m.id}] (entry ${e.seq})`;
    // a check-in logged again on its own later (a correction by row()) speaks for itself
    const own = log.latestOf(refOf('checkins', [m.id]));
    if (own && own.seq > e.seq) continue;
    if (m.d.raw_id !== raw) bad({ kind: 'entry', where, detail: `listed in the batch of raw input ${JSON.stringify(raw)} but logged with raw_id ${JSON.stringify(m.d.raw_id)}` });
    checkRow(log, 'checkins', [m.id], m.d, m.x, where, purgedAt, bad);
  }
}
