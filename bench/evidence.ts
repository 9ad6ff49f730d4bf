import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bench } from './index.js';
import { parseAttlog } from '../agent/checkin/zkteco/attlog.js';
import { CheckinRepo } from '../agent/store/checkins.js';
import { EvidenceLog, evidenceLog } from '../agent/store/evidence-log.js';
import { Store } from '../agent/store/store.js';
import { verifyBox } from '../agent/evidence/verify-box.js';
import { loadOrCreateLogKey } from '../agent/evidence/keys.js';
import { signCheckpoint } from '../agent/evidence/checkpointer.js';

const ENTRIES = 50_000;
const BATCH = 100;
const INTAKE_SECONDS = 2;
// with and without alternate, round after round: on a shared machine the load drifts between runs
const INTAKE_ROUNDS = 9;
const ZK_LINES = 20;

const rate = (n: number, ms: number) => `${Math.round((n * 1000) / ms).toLocaleString('en')}/s`;

/** Durable check-ins per second through the real group commit (commitDurable + WAL fsync), for `seconds`. */
async function intake(store: Store, seconds: number, startPin: number): Promise<{ n: number; ms: number; cpuUs: number }> {
  const repo = new CheckinRepo(store);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  let pin = startPin;
  while (performance.now() - t0 < seconds * 1000) {
    // one request of ZK_LINES ATTLOG lines, as a ZKTeco terminal pushes them, awaited to disk
    const lines = Array.from({ length: ZK_LINES }, () => `${pin++}\t2026-03-02 08:${String(pin % 60).padStart(2, '0')}:00\t0\t15\t\t0\t0`).join('\n');
    const body = Buffer.from(`${lines}\n`);
    const { outcomes, durable } = repo.commitDurable([
      { raw: { protocol: 'zkteco', terminal: 'zk', channel: 'http', body, receivedMs: Date.now() }, parse: (b) => parseAttlog(b, 'zk', 'SN', 'Asia/Shanghai') },
    ]);
    await durable;
    n += outcomes[0].stored.length;
  }
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  repo.close();
  return { n, ms, cpuUs: c.user + c.system };
}

export const evidenceBench: Bench = {
  name: 'evidence',
  title: `evidence log: ${ENTRIES.toLocaleString('en')} entries appended and verified beside bare SHA-256 of the same bytes; durable check-ins/s with and without the log`,
  async run() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-bench-evidence-'));
    console.log(
      `  ${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} (figures under this load)`,
    );
    try {
      // 1. append: entries the size of a check-in's, BATCH per transaction (the group commit's shape)
      const store = new Store({ file: path.join(dir, 'log.db') });
      const log = evidenceLog(store);
      const data = (i: number) => ({
        dedup_key: `zk:SN:${i}:1772412000`,
        terminal: 'zk',
        person: String(1000 + (i % 500)),
        trainee: `T${i % 500}`,
        class_id: 'C1',
        at_ms: 1772412000000 + i,
        tz_offset_min: 480,
        verify_mode: '15',
        similarity: null,
        raw_id: i,
      });
      let t0 = performance.now();
      for (let i = 0; i < ENTRIES; i += BATCH)
        store.tx(() => {
          for (let j = i; j < i + BATCH; j++) log.appendEvidence('checkin', data(j), { ref: JSON.stringify(['bench', j]) });
        });
      const appendMs = performance.now() - t0;
      const bytes = store.db.prepare('SELECT entry FROM evidence_log ORDER BY seq').pluck().all() as Buffer[];
      t0 = performance.now();
      for (const b of bytes)
        createHash('sha256')
          .update(Buffer.from([0]))
          .update(b)
          .digest();
      const shaMs = performance.now() - t0;
      console.log(`  append   ${rate(ENTRIES, appendMs)} entries (canonical JSON, leaf, right edge, ${BATCH}/transaction)   bare SHA-256 of the same bytes ${rate(ENTRIES, shaMs)}`);
      // storage: what the log and tree cost per entry in SQLite
      const pages = (name: string) => {
        try {
          return store.db.prepare('SELECT SUM(pgsize) FROM dbstat WHERE name = ?').pluck().get(name) as number;
        } catch {
          return NaN;
        }
      };
      const nodes = store.db.prepare('SELECT COUNT(*) FROM evidence_nodes').pluck().get() as number;
      console.log(
        `  storage  ${nodes.toLocaleString('en')} tree nodes for ${ENTRIES.toLocaleString('en')} leaves; bytes/entry: log ${(pages('evidence_log') / ENTRIES).toFixed(0)}, ref index ${(pages('evidence_log_ref') / ENTRIES).toFixed(0)}, nodes ${(pages('evidence_nodes') / ENTRIES).toFixed(0)}`,
      );
      // 2. verify: the whole log against a signed checkpoint (rows and files are the bench's refs: none)
      const key = loadOrCreateLogKey(path.join(dir, 'keys'), 'classroom-agent/bench');
      signCheckpoint(store, key, 'classroom-agent/bench');
      t0 = performance.now();
      const r = await verifyBox(log, { vkey: key.signer.vkey, files: false });
      const verifyMs = performance.now() - t0;
      console.log(
        `  verify   ${rate(r.entries, verifyMs)} entries (leaf, tree, signed root, ref lookup)   bare SHA-256 ${rate(ENTRIES, shaMs)}   problems ${r.problemCount} (the bench's refs have no rows: expected 0)`,
      );
      const proofT = performance.now();
      for (let i = 0; i < 2000; i++) log.inclusion((i * 7919) % ENTRIES, ENTRIES);
      console.log(`  proofs   ${rate(2000, performance.now() - proofT)} inclusion proofs from SQLite at ${ENTRIES.toLocaleString('en')} leaves`);
      store.close();

      // 3. durable check-ins/s through the real intake, with the log and with appendEvidence made a no-op
      const orig = EvidenceLog.prototype.appendEvidence;
      const runs: Record<'with' | 'without', number[]> = { with: [], without: [] };
      const cpu: Record<'with' | 'without', number[]> = { with: [], without: [] };
      const paired: number[] = [];
      for (let round = 0; round < INTAKE_ROUNDS; round++) {
        const got: Partial<Record<'with' | 'without', number>> = {};
        for (const mode of round % 2 ? (['without', 'with'] as const) : (['with', 'without'] as const)) {
          // why patch the prototype: the product has no switch to turn the log off, and must not
          if (mode === 'without') EvidenceLog.prototype.appendEvidence = () => -1;
          const s = new Store({ file: path.join(dir, `intake-${mode}-${round}.db`) });
          try {
            const x = await intake(s, INTAKE_SECONDS, 100_000);
            got[mode] = (x.n * 1000) / x.ms;
            runs[mode].push(got[mode]);
            cpu[mode].push(x.cpuUs / x.n);
          } finally {
            s.close();
            EvidenceLog.prototype.appendEvidence = orig;
          }
        }
        paired.push(((got.without! - got.with!) / got.without!) * 100);
      }
      const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
      const w = med(runs.with);
      const wo = med(runs.without);
      console.log(
        `  intake   durable check-ins/s (ZKTeco ${ZK_LINES}/request, median of ${INTAKE_ROUNDS} alternating rounds × ${INTAKE_SECONDS} s): with log ${Math.round(w)}, without ${Math.round(wo)}; cost ${(((wo - w) / wo) * 100).toFixed(1)} % (target ≤ 5 %); median of the paired rounds' costs ${med(paired).toFixed(1)} %`,
      );
      console.log(
        `  cpu      per durable check-in (process CPU, fsync thread included): with log ${med(cpu.with).toFixed(0)} µs, without ${med(cpu.without).toFixed(0)} µs; rounds with/without: ${runs.with.map((x, i) => `${Math.round(x)}/${Math.round(runs.without[i])}`).join(' ')}`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
