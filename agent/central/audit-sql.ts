import fs from 'node:fs';
import DatabaseCtor from 'better-sqlite3';
import type Database from 'better-sqlite3';
import pg from 'pg';
import { InputError } from '../core/errors.js';
import { maskUrl } from '../core/log.js';
import { noteSecret } from '../core/secret-audit.js';
import type { CentralSql } from './audit.js';
import './pg.js'; // BIGINT read as a number: the type parser pg.ts installs
import { isPostgresUrl } from './store.js';

/**
 * The two databases a central runs on, as the verifier reads them (audit.ts): the same SQL with
 * `?` placeholders, each read in one read-only snapshot. Opening either turns every way it can
 * fail (bad URL, server unreachable, wrong password, no such database, not a central database)
 * into an InputError in zh/en naming the fix, with the URL's credentials masked.
 */

const issue = (where: string, zh: string, en: string, fix?: { zh: string; en: string }): InputError => new InputError(where, [{ path: '', message: en, zh, fix }]);

/** The central's tables the verifier needs; the witness's are optional (an old SQLite central has none). */
async function requireSchema(sql: CentralSql): Promise<void> {
  if ((await sql.tables()).has('records')) return;
  await sql.close();
  throw issue(sql.where, '这不是省平台接收端的数据库：没有 records 表', 'not a central receiver database: it has no records table', {
    zh: '指向 `classroom-agent central --db` 使用的数据库（库名、schema 对吗？）',
    en: 'give the database `classroom-agent central --db` uses (right database name and schema?)',
  });
}

class SqliteSql implements CentralSql {
  readonly rowOrder = 'rowid';
  constructor(
    readonly where: string,
    private db: Database.Database,
  ) {}
  async all<T>(sql: string, params: readonly unknown[]): Promise<T[]> {
    return this.db.prepare(sql).all(...params) as T[];
  }
  async tables(): Promise<Set<string>> {
    return new Set((this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name));
  }
  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

class PgSql implements CentralSql {
  readonly rowOrder = 'n';
  constructor(
    readonly where: string,
    private client: pg.Client,
  ) {}
  async all<T>(sql: string, params: readonly unknown[]): Promise<T[]> {
    let i = 0;
    try {
      return (
        await this.client.query(
          sql.replace(/\?/g, () => `$${++i}`),
          params as unknown[],
        )
      ).rows as T[];
    } catch (err) {
      throw pgIssue(err, this.where);
    }
  }
  async tables(): Promise<Set<string>> {
    // the tables the connection sees by name (its search_path), as the receiver's queries do
    const r = await this.all<{ name: string }>(
      "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v') AND s.nspname = ANY(current_schemas(false))",
      [],
    );
    return new Set(r.map((x) => x.name));
  }
  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

/** A PostgreSQL failure as the fix a human needs; never the library's raw text, never the password. */
function pgIssue(err: unknown, where: string): InputError {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const msg = e.message ?? String(err);
  if (code === '28P01')
    return issue(where, '密码错误，服务器拒绝登录', 'wrong password: the server refused the login', {
      zh: '核对密码；建议不写在 URL 中，而用环境变量 PGPASSWORD 或 ~/.pgpass',
      en: 'check the password; rather than in the URL, give it in PGPASSWORD or ~/.pgpass',
    });
  if (/client password must be a string|SASL/.test(msg))
    return issue(where, '服务器要求密码，但没有给出', 'the server asks for a password and none was given', {
      zh: '用 PGPASSWORD 或 ~/.pgpass 给出密码',
      en: 'give it in PGPASSWORD or ~/.pgpass',
    });
  if (code === '28000')
    return issue(where, '服务器不允许此用户从这里登录（pg_hba.conf 或用户不存在）', 'the server does not let this user log in from here (pg_hba.conf, or no such role)', {
      zh: '请数据库管理员建一个只读用户并在 pg_hba.conf 中放行（见 docs/evidence.md）',
      en: 'ask the database administrator for a read-only role allowed in pg_hba.conf (see docs/evidence.md)',
    });
  if (code === '3D000') return issue(where, '服务器上没有这个数据库', 'no such database on the server', { zh: '核对 URL 中的库名', en: 'check the database name in the URL' });
  if (code === '42501')
    return issue(where, '此用户无权读取接收端的表', "this user may not read the central's tables", {
      zh: 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO <用户>',
      en: 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO <role>',
    });
  if (code === '42P01' || code === '42703')
    return issue(where, `接收端的表不完整（${code}）：数据库版本不对或不是接收端数据库`, `the central's tables are incomplete (${code}): another version, or not a central database`, {
      zh: '用与接收端相同版本的 classroom-agent 核验',
      en: 'verify with the classroom-agent version the receiver runs',
    });
  if (/^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET)$/.test(code) || /timeout|terminated unexpectedly/i.test(msg))
    return issue(where, `连不上数据库服务器（${code || '超时'}）`, `cannot reach the database server (${code || 'timeout'})`, {
      zh: '核对主机名和端口，服务器是否运行，防火墙是否放行',
      en: 'check the host and port, that the server runs, and that the firewall lets this host in',
    });
  if (/SSL|TLS|certificate/i.test(msg))
    return issue(where, `TLS 连接失败：${maskUrl(msg)}`, `the TLS connection failed: ${maskUrl(msg)}`, {
      zh: '按服务器要求在 URL 中设置 sslmode（如 ?sslmode=require）',
      en: 'set sslmode in the URL as the server requires (e.g. ?sslmode=require)',
    });
  return issue(where, `数据库出错（${code || '未知'}）：${maskUrl(msg)}`, `database error (${code || 'unknown'}): ${maskUrl(msg)}`);
}

/**
 * The URL as it may be printed. Beyond maskUrl: the user part runs to the last `@` (a password
 * typed with a raw `@` or `/` in it, or after a mistyped `postgres:/`, is masked whole too).
 */
export function maskPgUrl(url: string): string {
  return maskUrl(
    url.replace(/^([a-z]+:\/*)(.*)@/is, (m, scheme: string, info: string) => {
      const i = info.indexOf(':');
      if (i < 0) return m;
      noteSecret(info.slice(i + 1));
      return `${scheme}${info.slice(0, i)}:***@`;
    }),
  );
}

function badUrl(url: string, en: string, zh: string): InputError {
  return issue(maskPgUrl(url), `PostgreSQL 地址无效：${zh}`, `not a usable PostgreSQL URL: ${en}`, {
    zh: '形如 postgres://用户@主机:5432/库名（密码放在 PGPASSWORD 或 ~/.pgpass 中）',
    en: 'write it as postgres://user@host:5432/database (the password in PGPASSWORD or ~/.pgpass)',
  });
}

async function openPg(url: string): Promise<CentralSql> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw badUrl(url, 'it does not parse as a URL', '无法解析');
  }
  if (!u.hostname && !u.searchParams.get('host')) throw badUrl(url, 'no host', '没有主机名');
  if (u.port && !(Number(u.port) > 0 && Number(u.port) < 65536)) throw badUrl(url, 'bad port', '端口无效');
  const where = maskPgUrl(url);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 15_000, application_name: 'classroom-agent verify' });
  client.on('error', () => undefined); // a dropped connection fails the next query, reported there
  try {
    await client.connect();
    // one snapshot for every read: receivers writing meanwhile do not split a box's rows
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  } catch (err) {
    await client.end().catch(() => undefined);
    throw pgIssue(err, where);
  }
  return new PgSql(where, client);
}

function openSqlite(file: string): CentralSql {
  if (!fs.existsSync(file)) throw issue(file, '没有这个文件', 'no such file', { zh: '给出 SQLite 文件路径或 postgres:// 地址', en: 'give an SQLite file or a postgres:// URL' });
  try {
    const db = new DatabaseCtor(file, { readonly: true, fileMustExist: true });
    db.exec('BEGIN'); // one read snapshot (WAL) for every read
    db.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get();
    return new SqliteSql(file, db);
  } catch (err) {
    throw issue(file, `不是可读的 SQLite 数据库（${(err as { code?: string }).code ?? 'error'}）`, `not a readable SQLite database (${(err as { code?: string }).code ?? 'error'})`);
  }
}

/** The central database at `target`: a postgres:// URL or an SQLite file. */
export async function openCentralSql(target: string): Promise<CentralSql> {
  if (/^postgres(ql)?:/i.test(target) && !isPostgresUrl(target)) throw badUrl(target, 'write postgres:// (two slashes, lower case)', '应写作 postgres://（两个斜杠，小写）');
  const sql = isPostgresUrl(target) ? await openPg(target) : openSqlite(target);
  await requireSchema(sql);
  return sql;
}
