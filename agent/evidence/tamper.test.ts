import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckinRepo } from '../store/checkins.js';
import { ClassRepo } from '../store/classes.js';
import { FACT_TABLES, FACTS, evidenceLog } from '../store/evidence-log.js';
import type { Store } from '../store/store.js';
import { entryBytes, parseEntry } from './canonical.js';
import { signCheckpoint } from './checkpointer.js';
import { fillBox, makeBox, ORIGIN, T0, type BoxFixture } from './fixture.js';
import { readLocalCheckpoint } from './keys.js';
import { hashLeaf, memoryTree, rangeHash } from './merkle.js';
import { verifyBox, type BoxReport } from './verify-box.js';
import { attest, verifyBundle } from './bundle.js';
import { generateSigner, signNote } from './note.js';
import { parseBundle, toBundle } from '../compliance/bundle.js';
import { RetentionRepo } from '../store/retention.js';
import { purgeExpired } from '../retention/purge.js';
import { cutLog } from './prune.js';
import { parseAttlog } from '../checkin/zkteco/attlog.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tamper-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;

function box(): BoxFixture {
  const f = makeBox(path.join(root, String(n++)));
  fillBox(f);
  return f;
}

async function verify(f: BoxFixture): Promise<BoxReport> {
  const s = f.open();
  try {
    return await verifyBox(evidenceLog(s), { vkey: f.key.signer.vkey, origin: ORIGIN, localCheckpoint: readLocalCheckpoint(f.keys) });
  } finally {
    s.close();
  }
}

/** Tamper as someone with the database file and SQLite would: no foreign keys, no CHECKs, no agent. */
function tamper(f: BoxFixture, fn: (s: Store) => void): void {
  const s = f.open();
  try {
    s.db.pragma('foreign_keys = OFF');
    s.db.pragma('ignore_check_constraints = ON');
    fn(s);
  } finally {
    s.close();
  }
}

const mutate = (v: unknown): unknown => {
  if (typeof v === 'number') return Number.isInteger(v) && (v === 0 || v === 1) ? 1 - v : v + 1;
  if (typeof v === 'string') {
    if (v === 'practical') return 'theory';
    if (v.startsWith('[')) return JSON.stringify([...(JSON.parse(v) as unknown[]), 'x']);
    return `${v}x`;
  }
  if (Buffer.isBuffer(v)) return Buffer.concat([v, Buffer.from('x')]);
  return 1;
};

describe('tamper suite: verify on the box', () => {
  it('an untouched box verifies clean, every fact kind present', async () => {
    const f = box();
    const r = await verify(f);
    expect(r.problems).toEqual([]);
    expect(r.complete).toBe(true);
    expect(r.files).toBe(4); // 3 segments and the cut file
    expect(r.signedSize).toBe(r.entries);
    const s = f.open();
    for (const t of FACT_TABLES) expect((s.db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get() as number) > 0, t).toBe(true);
    // the request's columns its check-ins share are written once (`same`): the edit cases below
    // change such a column (terminal, raw_id, tz_offset_min) of one check-in and must still see it
    const raw = s.db.prepare("SELECT entry FROM evidence_log WHERE kind = 'raw-input' ORDER BY seq LIMIT 1").pluck().get() as Buffer;
    const b = parseEntry(raw).b as { rows: unknown[]; same: Record<string, unknown> };
    expect(b.rows.length).toBeGreaterThan(1);
    expect(Object.keys(b.same)).toEqual(expect.arrayContaining(['raw_id', 'terminal', 'tz_offset_min']));
    s.close();
  });

  // every evidential column of every evidential table, one at a time
  const cases = FACT_TABLES.flatMap((t) => [...FACTS[t].cols, ...('digest' in FACTS[t] ? [FACTS[t].digest as string] : [])].map((c) => [t, c] as const));
  it.each(cases)('edit %s.%s of one row', async (table, col) => {
    const f = box();
    tamper(f, (s) => {
      const row = s.db.prepare(`SELECT rowid AS rid, ${col} AS v FROM ${table} ORDER BY rowid LIMIT 1`).get() as { rid: number; v: unknown };
      s.db.prepare(`UPDATE ${table} SET ${col} = ? WHERE rowid = ?`).run(mutate(row.v), row.rid);
    });
    const r = await verify(f);
    expect(
      r.problems.some((p) => p.kind === 'row' && p.where.startsWith(table)),
      JSON.stringify(r.problems),
    ).toBe(true);
  });

  it.each(FACT_TABLES)('delete a row of %s', async (table) => {
    const f = box();
    tamper(f, (s) => s.db.prepare(`DELETE FROM ${table} WHERE rowid = (SELECT MAX(rowid) FROM ${table})`).run());
    const r = await verify(f);
    expect(
      r.problems.some((p) => p.kind === 'row' && p.detail.startsWith('row deleted')),
      JSON.stringify(r.problems),
    ).toBe(true);
  });

  it('insert a check-in row', async () => {
    const f = box();
    tamper(f, (s) =>
      s.db
        .prepare("INSERT INTO checkins (dedup_key, terminal, person, trainee, class_id, at_ms, created_ms, expires_ms) VALUES ('zk:SN1:102:x', 't1', '102', 'T2', 'C1', ?, ?, ?)")
        .run(T0 + 3 * 3600_000, T0, T0 + 1e11),
    );
    const r = await verify(f);
    expect(r.problems.some((p) => p.detail.includes('not in the evidence log'))).toBe(true);
  });

  it('reorder: swap two check-ins, and swap two log entries', async () => {
    const f = box();
    tamper(f, (s) => {
      const [a, b] = s.db.prepare('SELECT id, at_ms FROM checkins ORDER BY id LIMIT 2').all() as { id: number; at_ms: number }[];
      s.db.prepare('UPDATE checkins SET at_ms = ? WHERE id = ?').run(b.at_ms, a.id);
      s.db.prepare('UPDATE checkins SET at_ms = ? WHERE id = ?').run(a.at_ms, b.id);
    });
    expect((await verify(f)).problems.filter((p) => p.where.startsWith('checkins'))).toHaveLength(2);
    const g = box();
    tamper(g, (s) => {
      const [a, b] = s.db.prepare('SELECT seq, kind, ref, entry, leaf FROM evidence_log WHERE seq IN (3, 4) ORDER BY seq').all() as { seq: number }[];
      const upd = s.db.prepare('UPDATE evidence_log SET kind = @kind, ref = @ref, entry = @entry, leaf = @leaf WHERE seq = @to');
      upd.run({ ...b, to: 3 });
      upd.run({ ...a, to: 4 });
    });
    expect((await verify(g)).problems.some((p) => p.kind === 'tree')).toBe(true);
  });

  it('truncate the tail of the log', async () => {
    const f = box();
    tamper(f, (s) => {
      const size = evidenceLog(s).size();
      s.db.prepare('DELETE FROM evidence_log WHERE seq >= ?').run(size - 3);
    });
    const r = await verify(f);
    expect(r.problems.some((p) => p.kind === 'tree' && p.detail.includes('shorter than its signed checkpoint'))).toBe(true);
  });

  it('recompute every hash without the key (entry, leaves, nodes, stored roots)', async () => {
    const f = box();
    tamper(f, (s) => {
      // rewrite T2's check-in to another person, in the table and in its log entry
      const row = s.db.prepare("SELECT id, raw_id FROM checkins WHERE trainee = 'T2'").get() as { id: number; raw_id: number };
      s.db.prepare("UPDATE checkins SET person = '101', trainee = 'T1' WHERE id = ?").run(row.id);
      // the check-in's entry is its request's raw input's, which carries it: rewrite it there
      const e = s.db.prepare('SELECT seq, entry FROM evidence_log WHERE seq = (SELECT log_seq FROM raw_inputs WHERE id = ?)').get(row.raw_id) as { seq: number; entry: Buffer };
      const ent = parseEntry(e.entry);
      const b = ent.b as { cols: string[]; rows: unknown[][] };
      const member = b.rows.find((r) => r[0] === row.id)!;
      member[b.cols.indexOf('person')] = '101';
      member[b.cols.indexOf('trainee')] = 'T1';
      const bytes = entryBytes(ent);
      s.db.prepare('UPDATE evidence_log SET entry = ?, leaf = ? WHERE seq = ?').run(bytes, hashLeaf(bytes), e.seq);
      // rebuild the whole tree and every stored root, as a careful tamperer would
      const leaves = s.db.prepare('SELECT leaf FROM evidence_log ORDER BY seq').pluck().all() as Buffer[];
      const t = memoryTree(leaves);
      for (const nd of s.db.prepare('SELECT level, idx FROM evidence_nodes').all() as { level: number; idx: number }[])
        s.db.prepare('UPDATE evidence_nodes SET hash = ? WHERE level = ? AND idx = ?').run(t.node(nd.level, nd.idx), nd.level, nd.idx);
      for (const c of s.db.prepare('SELECT size FROM evidence_checkpoints').all() as { size: number }[])
        s.db.prepare('UPDATE evidence_checkpoints SET root = ? WHERE size = ?').run(rangeHash(t, 0, c.size), c.size);
    });
    const r = await verify(f);
    expect(r.problems.some((p) => p.kind === 'tree' && p.detail.includes('signed root'))).toBe(true);
  });

  it('restore the database from an older copy', async () => {
    const f = box();
    fs.copyFileSync(f.db, path.join(f.dir, 'old.db'));
    const s = f.open();
    f.clock.now += 3600_000;
    new ClassRepo(s).save({ id: 'C2', timezone: 'Asia/Shanghai', trainees: [], teachers: [], lessons: [] }, 'henan-2025');
    signCheckpoint(s, f.key, ORIGIN);
    s.close();
    for (const x of ['', '-wal', '-shm']) fs.rmSync(`${f.db}${x}`, { force: true });
    fs.copyFileSync(path.join(f.dir, 'old.db'), f.db);
    const r = await verify(f);
    expect(r.problems.some((p) => p.detail.includes('restored from an older copy'))).toBe(true);
  });

  it('replace a video file with another of the same length', async () => {
    const f = box();
    const p = path.join(f.video, 'cam1-0.mp4');
    const len = fs.statSync(p).size;
    fs.writeFileSync(p, Buffer.alloc(len, 1));
    const r = await verify(f);
    expect(r.problems).toEqual([expect.objectContaining({ kind: 'file', where: p })]);
  });

  it('delete a video file; hiding it by marking the row deleted', async () => {
    const f = box();
    const p = path.join(f.video, 'cam1-1.mp4');
    fs.rmSync(p);
    expect((await verify(f)).problems).toEqual([expect.objectContaining({ kind: 'file', where: p, detail: expect.stringContaining('missing') })]);
    tamper(f, (s) => s.db.prepare('UPDATE recordings SET deleted_ms = ? WHERE path = ?').run(T0, p));
    expect((await verify(f)).problems.some((p2) => p2.kind === 'row' && p2.detail.includes('deleted_ms'))).toBe(true);
  });

  it('remap of an unknown PIN (a correction entry) verifies clean', async () => {
    const f = box();
    const s = f.open();
    f.clock.now += 3600_000;
    new ClassRepo(s).save(
      {
        id: 'C3',
        timezone: 'Asia/Shanghai',
        trainees: [{ id: 'T9', terminalIds: ['999'] }],
        teachers: [],
        lessons: [{ id: 'L9', kind: 'theory', start: T0, end: T0 + 7200_000, cameras: [], makeUp: false }],
      },
      'henan-2025',
    );
    expect(new CheckinRepo(s).remapUnknown()).toBe(1);
    // the correction is a fact of its own pointing at the check-in; the check-in's entry is not touched
    const corr = s.db.prepare("SELECT entry FROM evidence_log WHERE kind = 'checkin-correction' ORDER BY seq DESC LIMIT 1").pluck().get() as Buffer;
    expect((parseEntry(corr).d as { checkin_id: unknown; reason: unknown }).reason).toBe('remap');
    expect((parseEntry(corr).d as { checkin_id: unknown }).checkin_id).toBeTypeOf('number');
    signCheckpoint(s, f.key, ORIGIN);
    s.close();
    const r = await verify(f);
    expect(r.problems).toEqual([]);
  });

  it('a re-import that drops a teacher and makes a lesson theory verifies clean (logged as corrections)', async () => {
    const f = box();
    const s = f.open();
    new ClassRepo(s).save(
      {
        id: 'C1',
        timezone: 'Asia/Shanghai',
        trainees: [{ id: 'T1', terminalIds: ['101'] }],
        teachers: [{ id: 'K1', certified: true }],
        lessons: [{ id: 'L1', kind: 'theory', start: T0 + 3600_000, end: T0 + 7200_000, cameras: ['cam1'], makeUp: false }],
      },
      'henan-2025',
    );
    signCheckpoint(s, f.key, ORIGIN);
    s.close();
    expect((await verify(f)).problems).toEqual([]);
  });
});

describe('tamper suite: a raw input points at its entry (log_seq, kept out of the ref index)', () => {
  const rawEntries = (s: Store) => s.db.prepare('SELECT id, log_seq AS seq FROM raw_inputs ORDER BY id').all() as { id: number; seq: number | null }[];
  /** One more ZKTeco request an hour later, and a checkpoint over it. */
  const request = (f: BoxFixture) => {
    const s = f.open();
    f.clock.now += 3600_000;
    const body = Buffer.from('101\t2026-03-02 09:00:00\t0\t15\t\t0\t0\n102\t2026-03-02 09:00:05\t0\t15\t\t0\t0\n');
    new CheckinRepo(s).commit([
      {
        raw: { protocol: 'zkteco', terminal: 't1', channel: 'http', method: 'POST', path: '/iclock/cdata?SN=SN1&table=ATTLOG', contentType: 'text/plain', body, receivedMs: f.clock.now },
        parse: (b) => parseAttlog(b, 't1', 'SN1', 'Asia/Shanghai'),
      },
    ]);
    signCheckpoint(s, f.key, ORIGIN);
    s.close();
  };

  it("the pointer changed to another raw input's entry, or cleared: reported, never trusted", async () => {
    for (const change of ['swap', 'clear', 'elsewhere'] as const) {
      const f = box();
      request(f);
      expect((await verify(f)).problems).toEqual([]);
      tamper(f, (s) => {
        const rows = rawEntries(s);
        expect(rows.length).toBeGreaterThan(1);
        expect(rows.every((r) => r.seq !== null)).toBe(true);
        // and the entries stay out of the ref index
        expect(s.db.prepare("SELECT COUNT(*) FROM evidence_log WHERE kind = 'raw-input' AND ref IS NOT NULL").pluck().get()).toBe(0);
        const set = s.db.prepare('UPDATE raw_inputs SET log_seq = ? WHERE id = ?');
        if (change === 'swap') {
          set.run(rows[1].seq, rows[0].id);
          set.run(rows[0].seq, rows[1].id);
        } else if (change === 'clear') set.run(null, rows[0].id);
        else set.run(0, rows[0].id); // the first entry: not a raw input's
      });
      const r = await verify(f);
      expect(
        r.problems.some((p) => p.kind === 'row' && p.where.startsWith('raw_inputs')),
        `${change}: ${JSON.stringify(r.problems)}`,
      ).toBe(true);
    }
  });

  it('an unparsable request keeps its raw input, logged and pointed at like any other: verifies clean', async () => {
    const f = box();
    const s = f.open();
    f.clock.now += 60_000;
    new CheckinRepo(s).commit([
      {
        raw: { protocol: 'zkteco', terminal: 't1', channel: 'http', body: Buffer.from('garbage\n'), receivedMs: f.clock.now },
        parse: () => {
          throw new Error('cannot read it');
        },
      },
    ]);
    const last = rawEntries(s).at(-1)!;
    expect(s.db.prepare('SELECT status FROM raw_inputs WHERE id = ?').pluck().get(last.id)).toBe('unparsable');
    expect(evidenceLog(s).get(last.seq!)?.kind).toBe('raw-input');
    signCheckpoint(s, f.key, ORIGIN);
    s.close();
    expect((await verify(f)).problems).toEqual([]);
  });

  it('a store of the previous version (raw-input entries in the ref index, no log_seq) upgraded by evidence-2 verifies clean, with new intake after it', async () => {
    const f = box();
    // what the previous version wrote: each raw-input entry's ref in its column, no pointer, no migration
    tamper(f, (s) => {
      for (const r of rawEntries(s)) s.db.prepare('UPDATE evidence_log SET ref = ? WHERE seq = ?').run(JSON.stringify(['raw_inputs', r.id]), r.seq);
      s.db.exec("ALTER TABLE raw_inputs DROP COLUMN log_seq; DELETE FROM schema_migrations WHERE id = 'evidence-2'");
    });
    expect((await verify(f)).problems).toEqual([]);
    // the upgrade (the store's open applies evidence-2), then a request of the new version
    const s = f.open();
    expect(rawEntries(s).every((r) => r.seq === null)).toBe(true);
    s.close();
    request(f);
    const after = f.open();
    expect(after.db.prepare("SELECT COUNT(*) FROM evidence_log WHERE kind = 'raw-input' AND ref IS NULL").pluck().get()).toBe(1);
    after.close();
    const r = await verify(f);
    expect(r.problems).toEqual([]);
    expect(r.complete).toBe(true);
  });
});

describe('tamper suite: verify on an exported bundle', () => {
  function exported(): { doc: any; vkey: string } {
    const f = box();
    const s = f.open();
    try {
      const refs: string[] = [];
      const ev = new ClassRepo(s).evidence('C1', refs)!;
      const cp = evidenceLog(s).lastCheckpoint()!;
      const doc = { ...toBundle(ev, 'Asia/Shanghai'), attestation: attest(evidenceLog(s), refs, cp, f.key.signer.vkey) };
      return { doc: JSON.parse(JSON.stringify(doc)), vkey: f.key.signer.vkey };
    } finally {
      s.close();
    }
  }

  it('an untouched bundle verifies with the box key, and evaluate still reads it', () => {
    const { doc, vkey } = exported();
    expect(verifyBundle(doc, vkey).problems).toEqual([]);
    // the request's check-ins share one entry; the bundle attests only its class's (not 998's, 999's)
    const batch = doc.attestation.entries.filter((x: any) => x.members);
    expect(batch).toHaveLength(1);
    expect(batch[0].members).toHaveLength(doc.checkins.length);
    expect(JSON.parse(batch[0].entry)).toMatchObject({ k: 'raw-input', b: { rows: expect.any(Array) } });
    expect(JSON.parse(batch[0].entry).b.rows).toHaveLength(4);
    expect(doc.attestation.entries.length).toBeGreaterThan(8);
    expect(parseBundle(doc).class.id).toBe('C1');
  });

  const edits: Array<[string, (d: any) => void]> = [
    ['a teacher made certified', (d) => (d.class.teachers.find((t: any) => !t.certified).certified = true)],
    ['a practical lesson made theory', (d) => (d.lessons.find((l: any) => l.kind === 'practical').kind = 'theory')],
    ['a lesson moved', (d) => (d.lessons[0].start = d.lessons[0].start.replace('09:00', '09:05'))],
    ['a recording lengthened', (d) => (d.recordings[0].end = d.recordings[2].end)],
    ['a sighting moved to another trainee', (d) => (d.sightings[0].trainee = 'T2')],
    ['a check-in moved', (d) => (d.checkins[0].at = d.checkins[0].at.replace('08:55', '08:35'))],
    ['the workstations changed', (d) => (d.class.workstations = 20)],
    ['a check-in deleted', (d) => d.checkins.pop()],
    ['a check-in inserted', (d) => d.checkins.push({ ...d.checkins[0], at: d.checkins[0].at.replace('08:55', '09:30') })],
    ['a trainee added', (d) => d.class.trainees.push({ id: 'T3' })],
    [
      'an entry edited (its proof no longer holds)',
      (d) => {
        const e = d.attestation.entries.find((x: any) => x.entry.includes('"certified":0'));
        e.entry = e.entry.replace('"certified":0', '"certified":1');
      },
    ],
    [
      'two entries reordered',
      (d) => {
        const [a, b] = [d.attestation.entries[1].seq, d.attestation.entries[2].seq];
        d.attestation.entries[1].seq = b;
        d.attestation.entries[2].seq = a;
      },
    ],
    ['entries truncated at the tail', (d) => d.attestation.entries.splice(-2)],
    ['a check-in id named in a batch that does not hold it', (d) => d.attestation.entries.find((x: any) => x.members).members.push(999_999)],
    ['a batch stripped of the ids it attests', (d) => delete d.attestation.entries.find((x: any) => x.members).members],
    ['the checkpoint altered', (d) => (d.attestation.checkpoint = d.attestation.checkpoint.replace(/\n(\d+)\n/, (_: string, n: string) => `\n${Number(n) + 1}\n`))],
  ];
  it.each(edits)('%s', (_, edit) => {
    const { doc, vkey } = exported();
    edit(doc);
    expect(verifyBundle(doc, vkey).problems.length).toBeGreaterThan(0);
  });

  it('recomputed and re-signed with another key: refused with the box key', () => {
    const { doc, vkey } = exported();
    const forger = generateSigner(ORIGIN).signer;
    const body = doc.attestation.checkpoint.slice(0, doc.attestation.checkpoint.lastIndexOf('\n\n') + 1);
    doc.attestation.checkpoint = signNote(body, forger);
    doc.attestation.key = forger.vkey;
    expect(verifyBundle(doc, vkey).problems.join()).toMatch(/not signed by the box key/);
    // without the key from the province, the bundle's own key proves nothing: flagged
    expect(verifyBundle(doc).selfKeyed).toBe(true);
  });
});

describe('retention cuts the log at its start, signed', () => {
  it('after 3 years: rows purged, videos deleted, log cut; what remains verifies, and a cut beyond the signed point is caught', async () => {
    const f = box();
    f.clock.now = T0 + 4 * 365.25 * 24 * 3600_000;
    const s = f.open();
    const repo = new RetentionRepo(s);
    for (const v of repo.expiredVideos(f.clock.now, 100)) {
      fs.rmSync(v.path);
      expect(repo.markDeleted(v.id, f.clock.now)).toBe(true);
    }
    await purgeExpired(s, f.clock.now, 100);
    const cut = cutLog(s, f.keys, ORIGIN, f.clock.now);
    expect(cut).toBeGreaterThan(10);
    s.close();
    const r = await verify(f);
    expect(r.problems).toEqual([]);
    expect(r.pruned).toBe(cut);
    tamper(f, (s2) => s2.db.prepare('UPDATE evidence_log SET entry = NULL WHERE seq = (SELECT MAX(seq) FROM evidence_log)').run());
    expect((await verify(f)).problems.some((p) => p.detail.includes('no logged cut'))).toBe(true);
  });
});
