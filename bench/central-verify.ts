import os from 'node:os';
import pg from 'pg';
import { auditCentral } from '../agent/central/audit.js';
import { openCentralSql } from '../agent/central/audit-sql.js';
import { PgCentralDb } from '../agent/central/pg.js';
import { keyStatement } from '../agent/evidence/checkpointer.js';
import { consistencyProof, hashLeaf, memoryTree, rootOf } from '../agent/evidence/merkle.js';
import { formatCheckpoint, generateSigner, openNote, parseVerifierKey, signNote } from '../agent/evidence/note.js';
import { TestPostgres } from '../agent/sim/postgres.js';
import type { Bench } from './index.js';

/**
 * `verify --central` on a province-sized PostgreSQL: BOXES boxes (default 500), each with its
 * key record, CHECKPOINTS signed checkpoints (default 100, each with its consistency proof) and
 * FILLER other records (default 2000), so the records table holds about a million rows; the
 * witness's rows as the receiver would have kept them. Prints records replayed per second and
 * the verifier's heap at two sizes (constant memory: the second run reads twice the boxes),
 * beside a baseline measured in the same run: a bare paged read of the same rows, and bare
 * Ed25519 verification of the same notes. Not part of the test run.
 */
const BOXES = Number(process.env.CENTRAL_VERIFY_BOXES ?? 500);
const CHECKPOINTS = Number(process.env.CENTRAL_VERIFY_CHECKPOINTS ?? 100);
const FILLER = Number(process.env.CENTRAL_VERIFY_FILLER ?? 2000);
const ORIGIN = 'classroom-agent/box-bench';

/** One box's log: 10 leaves more per checkpoint, each checkpoint signed, with its proof. */
function chain() {
  const { signer } = generateSigner(ORIGIN);
  const leaves = Array.from({ length: CHECKPOINTS * 10 }, (_, i) => hashLeaf(Buffer.from(`entry ${i}`)));
  const tree = memoryTree(leaves);
  const keyRec = { origin: ORIGIN, key: signer.vkey, previous: null, note: signNote(keyStatement(ORIGIN, signer.vkey, null), signer) };
  const cps: Array<{ data: string; size: number; root: Buffer; time: number }> = [];
  let prev: { size: number; root: Buffer } | null = null;
  for (let c = 1; c <= CHECKPOINTS; c++) {
    const size = c * 10;
    const root = rootOf(tree, size);
    const time = 1_780_000_000_000 + c * 300_000;
    const note = signNote(formatCheckpoint({ origin: ORIGIN, size, root, extensions: [`time ${time}`] }), signer);
    const rec = {
      note,
      prev: prev ? { size: prev.size, root: prev.root.toString('base64') } : null,
      proof: prev ? consistencyProof(tree, prev.size, size).map((h) => h.toString('base64')) : [],
    };
    cps.push({ data: JSON.stringify(rec), size, root, time });
    prev = { size, root };
  }
  return { vkey: signer.vkey, keyRec, cps };
}

async function fill(url: string, boxes: number, ch: ReturnType<typeof chain>): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const per = 1 + CHECKPOINTS + FILLER;
    for (let b = 0; b < boxes; b++) {
      const box = `box-${String(b).padStart(5, '0')}`;
      // the key first, then a checkpoint after every FILLER/CHECKPOINTS other records
      const every = Math.max(1, Math.floor(FILLER / CHECKPOINTS));
      const cpSeqs = ch.cps.map((_, i) => 2 + i * (every + 1) + every);
      await c.query(
        `INSERT INTO records (box, seq, record_id, type, at_ms, data, valid, received_ms)
         SELECT $1, s, $1 || '-' || s, 'segment', s, '{"camera":"cam-1","start":0,"end":60000,"bytes":1,"sha256":"${'ab'.repeat(32)}"}', true, 1
         FROM generate_series(2, $2) AS s WHERE NOT (s = ANY($3::bigint[]))`,
        [box, per, cpSeqs],
      );
      await c.query(`INSERT INTO records (box, seq, record_id, type, at_ms, data, valid, received_ms) VALUES ($1, 1, $1 || '-key', 'log-key', 1, $2, true, 1)`, [box, JSON.stringify(ch.keyRec)]);
      await c.query(
        `INSERT INTO records (box, seq, record_id, type, at_ms, data, valid, received_ms) SELECT $1, s, $1 || '-cp-' || s, 'checkpoint', 1, d, true, 1 FROM unnest($2::bigint[], $3::text[]) AS u(s, d)`,
        [box, cpSeqs, ch.cps.map((x) => x.data)],
      );
      await c.query(
        `INSERT INTO box_checkpoints (box, seq, size, root, time_ms, record, ok, received_ms)
         SELECT $1, s, z, r, t, d, true, 1 FROM unnest($2::bigint[], $3::bigint[], $4::bytea[], $5::bigint[], $6::text[]) AS u(s, z, r, t, d)`,
        [box, cpSeqs, ch.cps.map((x) => x.size), ch.cps.map((x) => x.root), ch.cps.map((x) => x.time), ch.cps.map((x) => x.data)],
      );
      await c.query('INSERT INTO box_keys (box, vkey, origin, trusted, note, since_ms) VALUES ($1, $2, $3, true, $4, 1)', [box, ch.vkey, ORIGIN, ch.keyRec.note]);
    }
    await c.query('ANALYZE');
    return boxes * per;
  } finally {
    await c.end();
  }
}

async function timedAudit(url: string): Promise<{ s: number; records: number; problems: number; heapMB: number; rssMB: number }> {
  global.gc?.();
  const base = process.memoryUsage().heapUsed;
  let peak = 0;
  let rss = 0;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed - base);
    rss = Math.max(rss, process.memoryUsage().rss);
  }, 20);
  const t0 = performance.now();
  const sql = await openCentralSql(url);
  try {
    const r = await auditCentral(sql);
    return { s: (performance.now() - t0) / 1000, records: r.records, problems: r.problemCount, heapMB: peak / 1e6, rssMB: rss / 1e6 };
  } finally {
    clearInterval(sample);
    await sql.close();
  }
}

export const centralVerifyBench: Bench = {
  name: 'central-verify',
  title: 'verify --central on PostgreSQL: records replayed/s and heap at two sizes, beside a bare read and bare Ed25519',
  async run() {
    const pgs = await new TestPostgres().start('large');
    try {
      const ch = chain();
      const admin = new pg.Client({ connectionString: pgs.url('postgres') });
      await admin.connect();
      await admin.query('CREATE DATABASE small');
      await admin.end();
      for (const db of ['small', 'large']) {
        const p = new PgCentralDb(pgs.url(db));
        await p.init();
        await p.close();
      }
      const half = await fill(pgs.url('small'), BOXES / 2, ch);
      const full = await fill(pgs.url('large'), BOXES, ch);
      console.log(`  rows in records: ${half} (small), ${full} (large); ${BOXES} boxes × ${CHECKPOINTS} checkpoints`);
      for (const [name, url] of [
        ['small', pgs.url('small')],
        ['large', pgs.url('large')],
      ] as const) {
        const r = await timedAudit(url);
        console.log(
          `  verify --central (${name}): ${r.records} witnessed records in ${r.s.toFixed(1)} s = ${Math.round(r.records / r.s)} records/s; problems ${r.problems}; heap growth peak ${r.heapMB.toFixed(1)} MB, RSS peak ${r.rssMB.toFixed(0)} MB`,
        );
      }
      // baseline 1: the same rows read bare, paged by box and sequence, nothing checked
      const c = new pg.Client({ connectionString: pgs.url('large') });
      await c.connect();
      let rows = 0;
      const t0 = performance.now();
      for (let b = 0; b < BOXES; b++) {
        const box = `box-${String(b).padStart(5, '0')}`;
        for (let after = 0; ; ) {
          const r = await c.query<{ seq: number; data: string }>("SELECT seq, data FROM records WHERE box = $1 AND type IN ('log-key', 'checkpoint') AND seq > $2 ORDER BY seq LIMIT 2000", [
            box,
            after,
          ]);
          rows += r.rows.length;
          if (r.rows.length < 2000) break;
          after = r.rows.at(-1)!.seq;
        }
        rows += (await c.query('SELECT seq, root FROM box_checkpoints WHERE box = $1 ORDER BY seq, n', [box])).rows.length;
      }
      const bareS = (performance.now() - t0) / 1000;
      await c.end();
      console.log(`  baseline, bare paged read of the witnessed records and witness rows: ${rows} rows in ${bareS.toFixed(1)} s`);
      // baseline 2: Ed25519 verification alone of the same notes
      const v = parseVerifierKey(ch.vkey);
      const t1 = performance.now();
      let k = 0;
      while (performance.now() - t1 < 2000) for (const x of ch.cps) k += openNote((JSON.parse(x.data) as { note: string }).note, [v]).verified.length;
      console.log(`  baseline, bare signed-note Ed25519 opens: ${Math.round(k / ((performance.now() - t1) / 1000))}/s`);
      console.log(`  (shared machine, load average ${os.loadavg()[0].toFixed(1)}: figures indicative)`);
    } finally {
      await pgs.stop();
    }
  },
};
