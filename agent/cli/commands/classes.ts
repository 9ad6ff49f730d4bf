import fs from 'node:fs';
import type { Command } from 'commander';
import { toBundle } from '../../compliance/bundle.js';
import { evaluate } from '../../compliance/engine.js';
import { readClassFile } from '../../classes/classfile.js';
import { loadProfile } from '../../config/profile.js';
import { InputError } from '../../core/errors.js';
import { formatLocal } from '../../core/time.js';
import { ClassRepo } from '../../store/classes.js';
import { evidenceLog } from '../../store/evidence-log.js';
import type { Store } from '../../store/store.js';
import type { Config } from '../../config/schema.js';
import { attest, type Attestation } from '../../evidence/bundle.js';
import { announceKey, signCheckpoint } from '../../evidence/checkpointer.js';
import { keyFolderOf, loadOrCreateLogKey, originOf, readPublicKey } from '../../evidence/keys.js';
import { action, configOf, EXIT, langOf, openStore } from '../context.js';
import { t } from '../i18n.js';
import { renderVerdict } from '../render.js';

function classEvidence(cmd: Command, classId: string, withAttestation = false) {
  const cfg = configOf(cmd);
  // export signs a checkpoint over the newest facts (a write); report only reads. Both refuse a
  // box without a store (the read-only open says so), and neither ever creates one.
  if (withAttestation) openStore(cfg, { readonly: true }).close();
  const store = openStore(cfg, { readonly: !withAttestation });
  try {
    const refs: string[] = [];
    const ev = new ClassRepo(store).evidence(classId, refs);
    if (!ev) throw new InputError('class', [{ path: 'CLASS_ID', message: `unknown class "${classId}" (import it first: classroom-agent class import FILE)` }]);
    return { cfg, ev, attestation: withAttestation ? attestClass(store, cfg, refs) : undefined };
  } finally {
    store.close();
  }
}

/**
 * The attestation of a bundle: its entries proven in a signed checkpoint. When the newest facts
 * are not yet in one, a checkpoint is signed now (with the box's key: export runs on the box).
 */
function attestClass(store: Store, cfg: Config, refs: string[]): Attestation {
  const log = evidenceLog(store);
  const need = refs.reduce((m, r) => Math.max(m, log.entryForRef(r)?.row.seq ?? -1), -1);
  let cp = log.lastCheckpoint();
  if (!cp || cp.size <= need) {
    // a box that never ran the daemon makes (and announces) its key here, as the daemon would
    const key = loadOrCreateLogKey(keyFolderOf(cfg), originOf(cfg));
    announceKey(store, key, originOf(cfg));
    signCheckpoint(store, key, originOf(cfg), true);
    cp = log.lastCheckpoint()!;
  }
  const key = readPublicKey(keyFolderOf(cfg)) ?? '';
  const missing = refs.filter((r) => !log.entryForRef(r));
  if (missing.length) {
    throw new InputError(
      cfg.paths.state,
      missing
        .slice(0, 20)
        .map((r) => ({ path: r, message: 'evidence row not in the evidence log (written behind the agent); run classroom-agent verify / 证据行不在证据日志中，请运行 classroom-agent verify' })),
    );
  }
  return attest(log, refs, cp, key);
}

export function register(program: Command): void {
  const cls = program.command('class').description('班次管理 / classes: import and list');
  cls
    .command('import')
    .description('导入班次（名册、教师、工位、课表），YAML 或 JSON / import a class (roster, teachers, workstations, schedule) from YAML or JSON')
    .argument('<file>', '班次文件 / class file')
    .action(
      action((file: string, _o: unknown, cmd: Command) => {
        const lang = langOf(cmd);
        const cfg = configOf(cmd);
        const plan = readClassFile(file);
        loadProfile(plan.profile ?? cfg.profile); // refuse a class whose profile does not exist
        const store = openStore(cfg);
        try {
          new ClassRepo(store).save(plan, cfg.profile);
        } finally {
          store.close();
        }
        const first = plan.lessons[0];
        process.stdout.write(
          t(
            lang,
            `已导入班次 ${plan.id}：学员 ${plan.trainees.length} 人，教师 ${plan.teachers.length} 人，课时 ${plan.lessons.length} 个${first ? `，首课 ${formatLocal(first.start, plan.timezone)}` : ''}\n`,
            `Imported class ${plan.id}: ${plan.trainees.length} trainees, ${plan.teachers.length} teachers, ${plan.lessons.length} lessons${first ? `, first ${formatLocal(first.start, plan.timezone)}` : ''}\n`,
          ),
        );
      }),
    );
  cls
    .command('list')
    .description('列出班次 / list classes')
    .option('--json', 'JSON')
    .action(
      action((opts: { json?: boolean }, cmd: Command) => {
        const store = openStore(configOf(cmd), { readonly: true });
        try {
          const rows = new ClassRepo(store).list();
          process.stdout.write(opts.json ? `${JSON.stringify(rows, null, 1)}\n` : rows.map((r) => `${r.id}\t${r.profile}\t${r.room ?? ''}\t${r.name ?? ''}`).join('\n') + '\n');
        } finally {
          store.close();
        }
      }),
    );

  program
    .command('export-evidence')
    .description('导出班次证据包（供 evaluate 复核）/ write the evidence bundle of a class (for evaluate)')
    .argument('<classId>', '班次编号 / class id')
    .option('-o, --output <file>', '输出文件（默认标准输出）/ output file (default stdout)')
    .action(
      action((classId: string, opts: { output?: string }, cmd: Command) => {
        const { ev, attestation } = classEvidence(cmd, classId, true);
        const tz = loadProfile(ev.profile ?? 'henan-2025').timezone;
        const text = `${JSON.stringify({ ...toBundle(ev, tz), attestation }, null, 1)}\n`;
        if (opts.output) fs.writeFileSync(opts.output, text);
        else process.stdout.write(text);
      }),
    );

  program
    .command('report')
    .description('从本机证据库判定班次 / verdict of a class from the store')
    .argument('<classId>', '班次编号 / class id')
    .option('--json', '输出 JSON / JSON output')
    .action(
      action((classId: string, opts: { json?: boolean }, cmd: Command) => {
        const { ev } = classEvidence(cmd, classId);
        const verdict = evaluate(ev, loadProfile(ev.profile ?? 'henan-2025'));
        process.stdout.write(opts.json ? `${JSON.stringify(verdict, null, 1)}\n` : `${renderVerdict(verdict, langOf(cmd))}\n`);
        return verdict.eligible ? EXIT.OK : EXIT.NOT_ELIGIBLE;
      }),
    );
}
