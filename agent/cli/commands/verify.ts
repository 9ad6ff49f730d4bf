import fs from 'node:fs';
import type { Command } from 'commander';
import { statePaths } from '../../config/load.js';
import { InputError } from '../../core/errors.js';
import { keyFolderOf, originOf, readLocalCheckpoint, readPublicKey } from '../../evidence/keys.js';
import { parseVerifierKey } from '../../evidence/note.js';
import { verifyBox, type BoxReport } from '../../evidence/verify-box.js';
import { evidenceLog } from '../../store/evidence-log.js';
import { Store } from '../../store/store.js';
import { verifyBundle } from '../../evidence/bundle.js';
import { auditCentral, type CentralAudit } from '../../central/audit.js';
import { openCentralSql } from '../../central/audit-sql.js';
import { action, configOf, EXIT, langOf } from '../context.js';
import { t, type Lang } from '../i18n.js';

/** The verifier key from --key: the key string itself or a file holding it (log.pub). */
export function keyArg(k: string): string {
  const v = fs.existsSync(k) ? fs.readFileSync(k, 'utf8').trim() : k.trim();
  try {
    parseVerifierKey(v);
  } catch (err) {
    throw new InputError('--key', [{ path: '', message: `${(err as Error).message}; give log.pub of the box or its content (name+id+key)` }]);
  }
  return v;
}

export function renderBoxReport(r: BoxReport, lang: Lang): string {
  const lines = [
    t(
      lang,
      `日志条目 ${r.entries}（已裁剪 ${r.pruned}），已签名至 ${r.signedSize}，检查点 ${r.checkpoints}，未签名尾部 ${r.unsignedTail}`,
      `log entries ${r.entries} (pruned ${r.pruned}), signed up to ${r.signedSize}, checkpoints ${r.checkpoints}, unsigned tail ${r.unsignedTail}`,
    ),
    t(lang, `索引行 ${r.rows}，录像文件 ${r.files}（${(r.fileBytes / 1e6).toFixed(1)} MB）`, `index rows ${r.rows}, segment files ${r.files} (${(r.fileBytes / 1e6).toFixed(1)} MB)`),
  ];
  // rows from before the log: protected from their adoption date on, not before (docs/evidence.md)
  for (const a of r.adoptions.filter((x) => x.rows > 0)) {
    const at = new Date(a.at).toISOString();
    lines.push(
      t(
        lang,
        `日志之前的数据：${a.rows} 行于 ${at} 收编入日志（此后的改动可被发现，此前的不能）`,
        `rows from before the log: ${a.rows} adopted into it at ${at} (changes after that are caught, not before)`,
      ),
    );
  }
  if (!r.complete) lines.push(t(lang, `未完成：检查到条目 ${r.reached.entries}、表 ${r.reached.tables}`, `incomplete: reached entry ${r.reached.entries}, table ${r.reached.tables}`));
  for (const p of r.problems) lines.push(`✘ ${p.kind} ${p.where}: ${p.detail}`);
  if (r.problemCount > r.problems.length) lines.push(t(lang, `……另有 ${r.problemCount - r.problems.length} 个问题`, `... and ${r.problemCount - r.problems.length} more problem(s)`));
  lines.push(r.problemCount ? t(lang, `发现 ${r.problemCount} 个问题`, `${r.problemCount} problem(s) found`) : t(lang, '全部一致', 'everything verifies'));
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('verify')
    .description('校验证据日志、索引行、录像文件和签名检查点 / verify the evidence log, index rows, video files and signed checkpoints (exit 0 clean, 1 problems, 2 unusable input)')
    .option('--key <vkey|file>', '盒子公钥（默认密钥目录中的 log.pub）/ the box public key (default log.pub in the key folder)')
    .option('--bundle <file>', '校验导出的证据包（离线，需要 --key）/ verify an exported evidence bundle offline (give --key)')
    .option(
      '--central <db|url>',
      '校验省平台接收端数据库（SQLite 文件或 postgres:// 地址，密码用 PGPASSWORD）/ verify a central receiver database (SQLite file or postgres:// URL, password in PGPASSWORD)',
    )
    .option('--no-files', '不校验录像文件 / skip hashing the video files')
    .option('--json', '输出 JSON / print the report as JSON')
    .action(
      action(async (opts: { key?: string; files?: boolean; json?: boolean; bundle?: string; central?: string }, cmd: Command) => {
        const lang = langOf(cmd);
        if (opts.bundle) return verifyBundleFile(opts.bundle, opts.key ? keyArg(opts.key) : undefined, !!opts.json, lang);
        if (opts.central) return verifyCentral(opts.central, !!opts.json, lang);
        const cfg = configOf(cmd);
        const db = statePaths(cfg).database;
        if (!fs.existsSync(db)) throw new InputError(db, [{ path: '', message: t(lang, '没有证据数据库（状态目录对吗？）', 'no evidence database here (is the state folder right?)') }]);
        const folder = keyFolderOf(cfg);
        const vkey = opts.key ? keyArg(opts.key) : readPublicKey(folder);
        const store = new Store({ file: db, readonly: true });
        try {
          const r = await verifyBox(evidenceLog(store), { vkey, origin: originOf(cfg), localCheckpoint: readLocalCheckpoint(folder), files: opts.files !== false });
          process.stdout.write(opts.json ? `${JSON.stringify(r, null, 1)}\n` : `${renderBoxReport(r, lang)}\n`);
          return r.problemCount ? EXIT.PROBLEM : EXIT.OK;
        } finally {
          store.close();
        }
      }),
    );
}

function verifyBundleFile(file: string, vkey: string | undefined, json: boolean, lang: Lang): number {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file === '-' ? 0 : file, 'utf8'));
  } catch (err) {
    throw new InputError(file, [{ path: '', message: `cannot read a JSON bundle: ${(err as Error).message}` }]);
  }
  const r = verifyBundle(doc, vkey);
  if (json) process.stdout.write(`${JSON.stringify(r, null, 1)}\n`);
  else {
    const lines = [t(lang, `检查点大小 ${r.size}，条目 ${r.entries}（逐条包含证明）`, `checkpoint size ${r.size}, ${r.entries} entries each with its inclusion proof`)];
    if (r.selfKeyed)
      lines.push(
        t(
          lang,
          '注意：未给 --key，使用了证据包自带的公钥：只证明包内一致，不证明来自该盒子',
          'note: no --key given, the key inside the bundle was used: this shows the bundle is consistent, not that it comes from the box',
        ),
      );
    for (const p of r.problems) lines.push(`✘ ${p}`);
    lines.push(r.problems.length ? t(lang, `发现 ${r.problems.length} 个问题`, `${r.problems.length} problem(s) found`) : t(lang, '证据包与签名日志一致', 'the bundle matches the signed log'));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return r.problems.length || r.selfKeyed ? EXIT.PROBLEM : EXIT.OK;
}

/** `verify --central`: a central's SQLite file or PostgreSQL database (agent/central/audit.ts). */
async function verifyCentral(target: string, json: boolean, lang: Lang): Promise<number> {
  const sql = await openCentralSql(target);
  let r: CentralAudit;
  try {
    r = await auditCentral(sql);
  } finally {
    await sql.close();
  }
  process.stdout.write(json ? `${JSON.stringify(r, null, 1)}\n` : `${renderCentralReport(r, lang)}\n`);
  return r.problemCount ? EXIT.PROBLEM : EXIT.OK;
}

export function renderCentralReport(r: CentralAudit, lang: Lang): string {
  const cps = r.boxes.reduce((a, b) => a + b.checkpoints, 0);
  const lines = [
    t(
      lang,
      `省平台数据库 ${r.where}：盒子 ${r.boxes.length}，重放记录 ${r.records}（检查点 ${cps}）`,
      `central database ${r.where}: ${r.boxes.length} box(es), ${r.records} record(s) replayed (${cps} checkpoint(s))`,
    ),
  ];
  if (!r.witnessTables) lines.push(t(lang, '注意：该数据库没有见证表，只重放了记录', 'note: this database has no witness tables; only the records were replayed'));
  for (const b of r.boxes.slice(0, 200))
    lines.push(`  ${b.box}: ${t(lang, `公钥 ${b.keys}，检查点 ${b.checkpoints}，日志大小 ${b.size ?? '-'}`, `${b.keys} key(s), ${b.checkpoints} checkpoint(s), log size ${b.size ?? '-'}`)}`);
  if (r.boxes.length > 200) lines.push(t(lang, `  ……另有 ${r.boxes.length - 200} 个盒子`, `  ... and ${r.boxes.length - 200} more box(es)`));
  for (const p of r.problems) {
    const raised = p.raised === undefined ? '' : p.raised ? t(lang, '（接收端已告警）', ' (the central raised its alarm)') : t(lang, '（接收端未告警）', ' (the central raised NO alarm)');
    lines.push(`✘ ${p.box} ${p.kind}${p.seq !== null ? ` (seq ${p.seq})` : ''}: ${p.detail}${raised}`);
  }
  if (r.problemCount > r.problems.length) lines.push(t(lang, `……另有 ${r.problemCount - r.problems.length} 个问题`, `... and ${r.problemCount - r.problems.length} more problem(s)`));
  lines.push(r.problemCount ? t(lang, `发现 ${r.problemCount} 个问题`, `${r.problemCount} problem(s) found`) : t(lang, '全部一致', 'everything verifies'));
  return lines.join('\n');
}
