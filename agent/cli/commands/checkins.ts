import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { formatIso, formatLocal } from '../../core/time.js';
import { CheckinRepo } from '../../store/checkins.js';
import { intArg } from '../options.js';
import { action, configOf, EXIT, langOf, openStore } from '../context.js';
import { t } from '../i18n.js';

const iso = (ms: number | null) => (ms === null ? null : formatIso(ms));
const local = (ms: number | null | undefined) => (ms == null ? '-' : formatLocal(ms));

/** The check-in repository of the config's store; read-only unless `write` (only `match` writes). */
function withRepo<T>(cmd: Command, fn: (r: CheckinRepo) => T, write = false): T {
  const store = openStore(configOf(cmd), { readonly: !write });
  try {
    return fn(new CheckinRepo(store));
  } finally {
    store.close();
  }
}

function limitOf(v: number | undefined): number {
  return v ?? 100;
}

/**
 * `classroom-agent checkins ...`: what the terminals delivered, who could not be matched to the
 * roster, what could not be read, and how each terminal is doing. Never silent about a problem:
 * `unknown` exits 1 while there are unknown people or unreadable inputs.
 */
export function register(program: Command): void {
  const c = program.command('checkins').description('签到记录与考勤机状态 / check-ins and terminal health');
  c.command('list')
    .description('最近的签到 / recent check-ins')
    .option('--terminal <id>', '只看此考勤机 / only this terminal')
    .option('--limit <n>', '条数 / how many', intArg(1, 1_000_000), 100)
    .option('--json', 'JSON')
    .action(
      action((o: { terminal?: string; limit?: number; json?: boolean }, cmd: Command) => {
        const lang = langOf(cmd);
        const rows = withRepo(cmd, (r) => r.list({ terminal: o.terminal, limit: limitOf(o.limit) }));
        if (o.json) return void process.stdout.write(`${JSON.stringify(rows.map((x) => ({ ...x, at: iso(x.at) })), null, 1)}\n`);
        if (!rows.length) return void process.stdout.write(t(lang, '没有签到记录\n', 'No check-ins\n'));
        for (const x of rows) process.stdout.write(`${local(x.at)}\t${x.terminal}\t${x.person}\t${x.trainee ?? t(lang, '(未匹配)', '(unknown)')}\t${x.verifyMode ?? ''}\n`);
      }),
    );
  c.command('unknown')
    .description('未匹配名册的人员和无法解析的数据 / people not on any roster and inputs that could not be read')
    .option('--limit <n>', '条数 / how many', intArg(1, 1_000_000), 100)
    .option('--json', 'JSON')
    .action(
      action((o: { limit?: number; json?: boolean }, cmd: Command) => {
        const lang = langOf(cmd);
        const limit = limitOf(o.limit);
        const { people, problems } = withRepo(cmd, (r) => ({ people: r.list({ unknownOnly: true, limit }), problems: r.problems(limit) }));
        if (o.json) {
          process.stdout.write(`${JSON.stringify({ unknownPeople: people.map((x) => ({ ...x, at: iso(x.at) })), unreadable: problems.map((p) => ({ ...p, received: iso(p.received_ms) })) }, null, 1)}\n`);
        } else {
          process.stdout.write(t(lang, `未匹配名册的签到：${people.length}\n`, `Check-ins of people on no roster: ${people.length}\n`));
          for (const x of people) process.stdout.write(`  ${local(x.at)}\t${x.terminal}\t${t(lang, '考勤机编号', 'terminal id')} ${x.person}\n`);
          if (people.length) process.stdout.write(t(lang, '  处理：在班次文件的 terminalIds 中加入这些编号后重新导入班次\n', '  Fix: add these ids to the trainees\' terminalIds in the class file and import it again\n'));
          process.stdout.write(t(lang, `无法完整解析的数据：${problems.length}\n`, `Inputs not fully readable: ${problems.length}\n`));
          for (const p of problems) process.stdout.write(`  #${p.id}\t${local(p.received_ms)}\t${p.protocol}\t${p.terminal ?? '-'}\t${p.status}\t${(p.error ?? '').slice(0, 160)}\n`);
          if (problems.length) process.stdout.write(t(lang, '  原始数据已保存：classroom-agent checkins raw <编号>\n', '  Raw data is kept: classroom-agent checkins raw <id>\n'));
        }
        return people.length || problems.length ? EXIT.PROBLEM : EXIT.OK;
      }),
    );
  c.command('remap')
    .description('按当前名册重新匹配未匹配的签到 / match check-ins of unknown people against the current rosters')
    .action(
      action((_o: unknown, cmd: Command) => {
        const lang = langOf(cmd);
        const n = withRepo(cmd, (r) => r.remapUnknown(1_000_000), true);
        process.stdout.write(t(lang, `已匹配 ${n} 条签到\n`, `Matched ${n} check-ins\n`));
      }),
    );
  c.command('raw')
    .description('输出一条原始数据 / print one raw input as received')
    .argument('<id>', '原始数据编号 / raw input id', intArg(1))
    .action(
      action((id: number, _o: unknown, cmd: Command) => {
        const body = withRepo(cmd, (r) => r.rawBody(id));
        if (!body) throw new InputError('arguments', [{ path: 'id', message: `no raw input #${id}` }]);
        process.stdout.write(body);
      }),
    );
  c.command('terminals')
    .description('考勤机状态：最近事件、心跳、时钟偏差 / terminal health: last event, heartbeat, clock skew')
    .option('--json', 'JSON')
    .action(
      action((o: { json?: boolean }, cmd: Command) => {
        const lang = langOf(cmd);
        const cfg = configOf(cmd);
        const states = withRepo(cmd, (r) => r.states());
        const ids = [...new Set([...cfg.terminals.map((x) => x.id), ...states.map((s) => s.terminal)])];
        const rows = ids.map((id) => {
          const s = states.find((x) => x.terminal === id);
          const conf = cfg.terminals.find((x) => x.id === id);
          return {
            terminal: id,
            protocol: conf?.protocol ?? s?.protocol ?? null,
            configured: !!conf,
            lastEvent: iso(s?.last_event_ms ?? null),
            lastContact: iso(s?.last_contact_ms ?? null),
            lastHeartbeat: iso(s?.last_heartbeat_ms ?? null),
            skewSeconds: s?.skew_ms != null ? Math.round(s.skew_ms / 1000) : null,
            cursor: s?.cursor ?? null,
          };
        });
        if (o.json) return void process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
        for (const r of rows) {
          const s = states.find((x) => x.terminal === r.terminal);
          process.stdout.write(
            `${r.terminal}\t${r.protocol ?? '?'}\t${t(lang, '最近事件', 'last event')} ${local(s?.last_event_ms)}\t${t(lang, '最近联系', 'last contact')} ${local(s?.last_contact_ms)}` +
              `${r.skewSeconds !== null && Math.abs(r.skewSeconds) >= 30 ? `\t${t(lang, `时钟偏差 ${r.skewSeconds} 秒（请校时）`, `clock off by ${r.skewSeconds} s (set its time)`)}` : ''}` +
              `${r.configured ? '' : `\t${t(lang, '未在配置中', 'not in config')}`}\n`,
          );
        }
      }),
    );
}
