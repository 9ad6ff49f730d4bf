import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIssue, InputError } from '../core/errors.js';
import { PACKAGE_ROOT } from '../core/paths.js';
import { boxOutbox, fillBox, growBox, makeBox, ORIGIN, rotateKey, type BoxFixture } from '../evidence/fixture.js';
import { loadOrCreateLogKey } from '../evidence/keys.js';
import { freePort } from '../sim/broker.js';
import { TestPostgres } from '../sim/postgres.js';
import type { WireRecord } from '../sync/contract.js';
import { checkRecordData } from '../sync/schemas.js';
import { auditCentral, type CentralAudit } from './audit.js';
import { openCentralSql } from './audit-sql.js';
import { CentralDb } from './db.js';
import { PgCentralDb } from './pg.js';
import { Witness } from './witness.js';

/**
 * `verify --central` on the central's PostgreSQL (a real server, agent/sim/postgres.ts) and on
 * its SQLite file, through the one verifier: a central fed by real boxes' signed records
 * verifies clean; each tampering of its tables is found; a bad URL, an unreachable server and
 * a wrong password exit 2 with the password masked. Each tampering runs on its own copy of the
 * clean database (CREATE DATABASE … TEMPLATE), so the cases do not mix.
 */
// the CLI cases spawn dist/: run `npx tsc -p tsconfig.json` first
const CLI = path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'central-audit-'));
let pgs: TestPostgres;
let admin: pg.Client;
let n = 0;
const boxes: Record<string, BoxFixture> = {};
let clean: Array<[string, WireRecord[]]> = [];
const PASSWORD = 'Sup3r-secret/pw@x';

const check = (r: WireRecord) =>
  checkRecordData(r.type, r.data)
    .map((i) => i.message)
    .join('; ');

/** A box whose key was changed once, the change signed by the old key. */
function rotatedBox(): { first: WireRecord[]; rest: WireRecord[] } {
  const f = makeBox(path.join(tmp, `b${n++}`));
  fillBox(f);
  const first = boxOutbox(f);
  rotateKey(f);
  growBox(f, 'R1');
  return { first, rest: boxOutbox(f, first[first.length - 1]!.seq) };
}

/** The records of the clean central: box-a (grew twice), box-k (changed its key). */
function cleanRecords(): Array<[string, WireRecord[]]> {
  const a = makeBox(path.join(tmp, `b${n++}`));
  fillBox(a);
  growBox(a, 'X1');
  growBox(a, 'X2');
  boxes.a = a;
  const k = rotatedBox();
  // delivered in batches of 4, as a box's sync would
  const batches: Array<[string, WireRecord[]]> = [];
  const recs = boxOutbox(a);
  for (let i = 0; i < recs.length; i += 4) batches.push(['box-a', recs.slice(i, i + 4)]);
  batches.push(['box-k', k.first], ['box-k', k.rest]);
  return batches;
}

async function copyOf(name: string, from = 'central'): Promise<string> {
  // the template must have no other session: a pool's ended connections may linger a moment
  for (let i = 0; ; i++) {
    try {
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${from}`);
      return pgs.url(name);
    } catch (err) {
      if (i > 600 || !/being accessed/.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

type Step = [string, unknown[]?] | ((c: pg.Client) => Promise<void>);

async function tampered(name: string, ...steps: Step[]): Promise<CentralAudit> {
  const url = await copyOf(name);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (const s of steps) {
      if (typeof s === 'function') await s(c);
      else expect((await c.query(s[0], s[1])).rowCount, s[0]).toBeGreaterThan(0);
    }
  } finally {
    await c.end();
  }
  return audit(url);
}

async function audit(target: string): Promise<CentralAudit> {
  const sql = await openCentralSql(target);
  try {
    return await auditCentral(sql);
  } finally {
    await sql.close();
  }
}

const kinds = (r: CentralAudit) => r.problems.map((p) => p.kind);

const cli = (args: string[], env: Record<string, string> = {}) => {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === '') delete e[k];
  const r = spawnSync(process.execPath, [CLI, '--lang', 'en', 'verify', ...args], { encoding: 'utf8', env: e });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

beforeAll(async () => {
  pgs = await new TestPostgres().start();
  const db = new PgCentralDb(pgs.url(), { witness: true });
  try {
    clean = cleanRecords();
    for (const [box, recs] of clean) await db.storeBatch(box, 1, recs, Date.now(), check);
    expect(await db.witnessAlarms()).toEqual([]);
  } finally {
    await db.close();
  }
  admin = new pg.Client({ connectionString: pgs.url('postgres') });
  await admin.connect();
  // a read-only role that logs in with a password (scram), as the province would give the verifier
  await admin.query(`CREATE ROLE verifier LOGIN PASSWORD '${PASSWORD}'`);
  const hba = path.join(pgs.dir, 'data', 'pg_hba.conf');
  fs.writeFileSync(hba, `host all verifier 127.0.0.1/32 scram-sha-256\n${fs.readFileSync(hba, 'utf8')}`);
  await admin.query('SELECT pg_reload_conf()');
  const c = new pg.Client({ connectionString: pgs.url() });
  await c.connect();
  await c.query('GRANT SELECT ON ALL TABLES IN SCHEMA public TO verifier');
  await c.end();
}, 180_000);

afterAll(async () => {
  await admin?.end().catch(() => undefined);
  await pgs?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('verify --central on PostgreSQL', () => {
  it('a clean central: every box replayed, nothing wrong', async () => {
    const r = await audit(await copyOf('clean'));
    expect(r.problems).toEqual([]);
    expect(r.witnessTables).toBe(true);
    expect(r.boxes).toEqual([
      { box: 'box-a', keys: 1, checkpoints: 3, size: expect.any(Number) },
      { box: 'box-k', keys: 2, checkpoints: 2, size: expect.any(Number) },
    ]);
  }, 60_000);

  it("a checkpoint's root edited in the witness's table", async () => {
    const r = await tampered('t_root', ["UPDATE box_checkpoints SET root = decode(repeat('00', 32), 'hex') WHERE n = (SELECT min(n) FROM box_checkpoints WHERE box = 'box-a')"]);
    expect(kinds(r)).toEqual(['checkpoint-row-differs']);
    expect(r.problems[0]!.detail).toMatch(/^root AAAA/);
  }, 60_000);

  it("a checkpoint's root edited in the record the box sent: its signature fails, and the central had kept another", async () => {
    const r = await tampered('t_note', [
      // the root is the note's third line
      "UPDATE records SET data = regexp_replace(data, '(\"note\":\"[^\\\\]*\\\\n[0-9]+\\\\n)[A-Za-z0-9+/]{43}=', '\\1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=') WHERE box = 'box-a' AND type = 'checkpoint' AND seq = (SELECT min(seq) FROM records WHERE box = 'box-a' AND type = 'checkpoint')",
    ]);
    expect(kinds(r)).toContain('bad-signature');
    expect(r.problems.find((p) => p.kind === 'bad-signature')!.raised).toBe(false);
    expect(kinds(r)).toContain('checkpoint-row-unbacked');
  }, 60_000);

  it('a checkpoint deleted: from the records (a gap), or from the witness table', async () => {
    const mid = "(SELECT seq FROM records WHERE box = 'box-a' AND type = 'checkpoint' ORDER BY seq OFFSET 1 LIMIT 1)";
    const r = await tampered('t_del', [`DELETE FROM box_checkpoints WHERE box = 'box-a' AND seq = ${mid}`], [`DELETE FROM records WHERE box = 'box-a' AND seq = ${mid}`]);
    // the next checkpoint continues from the deleted one; the central had passed it
    expect(r.problems.map((p) => [p.kind, p.raised])).toEqual([
      ['checkpoint-row-differs', undefined],
      ['gap', false],
    ]);
    const s = await tampered('t_del2', [`DELETE FROM box_checkpoints WHERE box = 'box-a' AND seq = ${mid}`]);
    expect(kinds(s)).toEqual(['checkpoint-row-missing']);
  }, 60_000);

  it('a signature altered', async () => {
    // one base64 character inside the signature (past the 4-byte key id) of the last checkpoint changed
    const r = await tampered('t_sig', async (c) => {
      const row = (await c.query("SELECT seq, data FROM records WHERE box = 'box-a' AND type = 'checkpoint' ORDER BY seq DESC LIMIT 1")).rows[0] as { seq: number; data: string };
      const at = row.data.lastIndexOf('— ') + row.data.slice(row.data.lastIndexOf('— ') + 2).indexOf(' ') + 3 + 20;
      const data = row.data.slice(0, at) + (row.data[at] === 'Q' ? 'R' : 'Q') + row.data.slice(at + 1);
      expect((await c.query("UPDATE records SET data = $1 WHERE box = 'box-a' AND seq = $2", [data, row.seq])).rowCount).toBe(1);
    });
    expect(r.problems.filter((p) => p.kind === 'bad-signature').map((p) => p.raised)).toEqual([false]);
  }, 60_000);

  it("a box's key row swapped for another key", async () => {
    const other = makeBox(path.join(tmp, `b${n++}`));
    const r = await tampered('t_key', ["UPDATE box_keys SET vkey = $1 WHERE box = 'box-a'", [other.key.signer.vkey]]);
    expect(kinds(r).sort()).toEqual(['key-row-missing', 'key-row-unbacked']);
  }, 60_000);

  it('a forged checkpoint inserted (signed by another key), in the records and as a passed row', async () => {
    const forger = makeBox(path.join(tmp, `b${n++}`));
    fillBox(forger);
    growBox(forger, 'F1');
    const cp = boxOutbox(forger)
      .filter((x) => x.type === 'checkpoint')
      .pop()!;
    const data = JSON.stringify(cp.data);
    const next = "(SELECT max(seq) + 1 FROM records WHERE box = 'box-a')";
    const r = await tampered(
      't_forged',
      [`INSERT INTO records (box, seq, record_id, type, at_ms, data, valid, received_ms) SELECT 'box-a', ${next}, 'forged', 'checkpoint', 1, $1, true, 1`, [data]],
      [
        `INSERT INTO box_checkpoints (box, seq, size, root, time_ms, record, ok, received_ms) SELECT 'box-a', max(seq), 99, decode(repeat('11', 32), 'hex'), 1, $1, true, 1 FROM records WHERE box = 'box-a'`,
        [data],
      ],
    );
    expect(r.problems.map((p) => [p.kind, p.raised])).toEqual([
      ['checkpoint-row-differs', undefined],
      ['bad-signature', false],
    ]);
  }, 60_000);

  it('a rollback the central caught: reported with its alarm; the alarm deleted: reported as not raised', async () => {
    const url = await copyOf('rolled');
    const f = boxes.a!;
    const h = makeBox(path.join(tmp, `b${n++}`));
    // box-a's first state, restored, carrying on with sequence numbers the province already holds
    fs.cpSync(f.keys, h.keys, { recursive: true });
    h.key = loadOrCreateLogKey(h.keys, ORIGIN);
    fillBox(h);
    h.clock.now = f.clock.now;
    const before = boxOutbox(h).length;
    growBox(h, 'Y1');
    const db = new PgCentralDb(url, { witness: true });
    try {
      await db.storeBatch('box-a', 1, boxOutbox(h).slice(before - 1), Date.now(), check);
      expect((await db.witnessAlarms()).map((a) => a.kind)).toContain('rollback');
    } finally {
      await db.close();
    }
    const r = await audit(url);
    expect(r.problems.length).toBeGreaterThan(0);
    expect(r.problems.every((p) => p.raised === true)).toBe(true);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query('DELETE FROM witness_alarms');
    await c.end();
    const s = await audit(url);
    expect(s.problems.map((p) => p.raised)).toEqual(r.problems.map(() => false));
  }, 90_000);

  it('the CLI: exit 0 clean with a password from PGPASSWORD; 1 tampered; 2 for a bad URL, a wrong password, no server, no schema, never printing the password', async () => {
    await copyOf('cli_clean');
    await admin.query('CREATE DATABASE cli_empty');
    const auth = (db: string, pw?: string) => `postgres://verifier${pw ? `:${encodeURIComponent(pw)}` : ''}@127.0.0.1:${pgs.port}/${db}`;
    let r = cli(['--central', auth('cli_clean')], { PGPASSWORD: PASSWORD });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/2 box\(es\).*everything verifies/s);
    const bad = await tampered('cli_bad', ["UPDATE box_checkpoints SET ok = false WHERE box = 'box-k'"]);
    expect(bad.problemCount).toBe(2);
    r = cli(['--central', pgs.url('cli_bad')]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✘ box-k checkpoint-row-differs/);
    // the CLI's exit 2, its message masked
    r = cli(['--central', auth('cli_clean', 'wrong-pw')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Unusable input \(postgres:\/\/verifier:\*\*\*@127\.0\.0\.1:\d+\/cli_clean\):\n.*wrong password/);
    expect(r.err).not.toContain('wrong-pw');
    // every other way in fails as unusable input, in both languages, the password never shown (in-process: each spawn costs seconds)
    const cases: Array<[string, RegExp, RegExp, Record<string, string | undefined>?]> = [
      [auth('cli_clean'), /asks for a password/, /要求密码/, { PGPASSWORD: undefined }],
      [`postgres://verifier:${PASSWORD}@127.0.0.1:${pgs.port}/cli_clean`, /not a usable PostgreSQL URL/, /地址无效/],
      [`postgres://x:${encodeURIComponent(PASSWORD)}@127.0.0.1:${await freePort()}/central`, /cannot reach the database server \(ECONNREFUSED\)/, /连不上/],
      [`postgres://x:${encodeURIComponent(PASSWORD)}@[::1/central`, /not a usable PostgreSQL URL/, /地址无效/],
      [`postgres:/x:${PASSWORD}@host/central`, /not a usable PostgreSQL URL/, /地址无效/],
      [`postgres://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${pgs.port}/cli_clean?sslmode=disable`, /wrong password|not let this user/, /密码错误|不允许/],
      [`postgres://verifier@127.0.0.1:${pgs.port}/cli_clean?password=${encodeURIComponent(PASSWORD)}x`, /wrong password/, /密码错误/],
      [pgs.url('cli_empty'), /no records table/, /没有 records 表/],
      [pgs.url('nosuch'), /no such database/, /没有这个数据库/],
      [path.join(tmp, 'nosuch.db'), /no such file/, /没有这个文件/],
    ];
    const saved = process.env.PGPASSWORD;
    for (const [target, en, zh, env] of cases) {
      if (env && 'PGPASSWORD' in env) delete process.env.PGPASSWORD;
      const err = await openCentralSql(target).then(
        async (s) => {
          await s.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      if (saved !== undefined) process.env.PGPASSWORD = saved;
      expect(err, target).toBeInstanceOf(InputError);
      const x = err as InputError;
      const text = [x.source, ...x.issues.map((i) => formatIssue(i, 'en')), ...x.issues.map((i) => formatIssue(i, 'zh'))].join('\n');
      expect(text, target).toMatch(en);
      expect(text, target).toMatch(zh);
      for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), 'Sup3r', 'secret']) expect(text, target).not.toContain(secret);
    }
  }, 120_000);
});

describe('verify --central on an SQLite central: the same verifier', () => {
  it('clean, then a root edited in the witness table', async () => {
    const file = path.join(tmp, 'central.db');
    const db = new CentralDb(file);
    const w = new Witness(db.db);
    for (const [box, recs] of clean) {
      const res = db.storeBatch(box, 1, recs, Date.now(), check, true);
      for (const x of res.released) {
        if (x.type === 'log-key') w.onKey(box, x.seq, x.data as never);
        if (x.type === 'checkpoint') w.onCheckpoint(box, x.seq, x.data as never);
      }
    }
    expect((await audit(file)).problems).toEqual([]);
    db.db.prepare("UPDATE box_checkpoints SET root = zeroblob(32) WHERE rowid = (SELECT min(rowid) FROM box_checkpoints WHERE box = 'box-k')").run();
    db.close();
    expect(kinds(await audit(file))).toEqual(['checkpoint-row-differs']);
    const r = cli(['--central', file]);
    expect(r.code).toBe(1);
  }, 60_000);
});
