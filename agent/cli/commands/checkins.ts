import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { formatIso, formatLocal } from '../../core/time.js';
import { SKEW_WARN_MS } from '../../checkin/clock.js';
import { reparseRaw } from '../../checkin/reparse.js';
import { CheckinRepo } from '../../store/checkins.js';
import { intArg } from '../options.js';
import { action, configOf, EXIT, langOf, openStore } from '../context.js';
import { t } from '../i18n.js';

const iso = (ms: number | null) => (ms === null ? null : formatIso(ms));
const local = (ms: number | null | undefined) => (ms == null ? '-' : formatLocal(ms));

/** The check-in repository of the config's store; read-only unless `write` (remap and approve write). */
function withRepo<T>(cmd: Command, fn: (r: CheckinRepo) => T, write = false): T {
  const store = openStore(configOf(cmd), { readonly: !write });
  try {
    return fn(new CheckinRepo(store));
  } finally {
    store.close();
  }
}

async function withRepoAsync<T>(cmd: Command, fn: (r: CheckinRepo) => Promise<T>): Promise<T> {
  const store = openStore(configOf(cmd));
  try {
    return await fn(new CheckinRepo(store));
  } finally {
    store.close();
  }
}

const skewText = (ms: number) => {
  const a = Math.abs(ms);
  const v = a >= 3600_000 ? `${(a / 3600_000).toFixed(1)} h` : a >= 60_000 ? `${Math.round(a / 60_000)} min` : `${Math.round(a / 1000)} s`;
  return `${ms >= 0 ? '+' : '-'}${v}`;
};

/** Everything a human must act on, shared by `unknown` (and its JSON) so nothing is reported in one place only. */
function problemsOf(r: CheckinRepo, limit: number) {
  return {
    people: r.list({ unknownOnly: true, limit }),
    problems: r.problems(limit),
    flagged: r.list({ flaggedOnly: true, limit }),
    events: r.events({ limit }),
    serials: r.serials({ pendingOnly: true }),
    skewed: r.states().filter((s) => s.skew_ms != null && Math.abs(s.skew_ms) > SKEW_WARN_MS),
  };
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
        if (o.json)
          return void process.stdout.write(
            `${JSON.stringify(
              rows.map((x) => ({ ...x, at: iso(x.at) })),
              null,
              1,
            )}\n`,
          );
        if (!rows.length) return void process.stdout.write(t(lang, '没有签到记录\n', 'No check-ins\n'));
        for (const x of rows) process.stdout.write(`${local(x.at)}\t${x.terminal}\t${x.person}\t${x.trainee ?? t(lang, '(未匹配)', '(unknown)')}\t${x.verifyMode ?? ''}\n`);
      }),
    );
  c.command('unknown')
    .description(
      '需要处理的签到问题：未匹配人员、无法解析的数据、未知事件码、时间异常、未批准的考勤机 / everything to act on: unknown people, unreadable inputs, unknown event codes, implausible times, unapproved terminals',
    )
    .option('--limit <n>', '条数 / how many', intArg(1, 1_000_000), 100)
    .option('--json', 'JSON')
    .action(
      action((o: { limit?: number; json?: boolean }, cmd: Command) => {
        const lang = langOf(cmd);
        const limit = limitOf(o.limit);
        const x = withRepo(cmd, (r) => problemsOf(r, limit));
        const skewOf = (t: string) => x.skewed.find((s) => s.terminal === t)?.skew_ms ?? null;
        const w = (zh: string, en: string) => process.stdout.write(t(lang, zh, en));
        if (o.json) {
          process.stdout.write(
            `${JSON.stringify(
              {
                unknownPeople: x.people.map((p) => ({ ...p, at: iso(p.at) })),
                unreadable: x.problems.map((p) => ({ ...p, received: iso(p.received_ms) })),
                implausibleTimes: x.flagged.map((p) => ({
                  ...p,
                  at: iso(p.at),
                  received: iso(p.receivedMs ?? null),
                  terminalSkewSeconds: skewOf(p.terminal) === null ? null : Math.round(skewOf(p.terminal)! / 1000),
                })),
                notCounted: x.events.map((e) => ({ ...e, at: iso(e.at_ms), received: iso(e.received_ms) })),
                unapprovedTerminals: x.serials.map((s) => ({ ...s, first: iso(s.first_ms), last: iso(s.last_ms) })),
                clockSkew: x.skewed.map((s) => ({ terminal: s.terminal, skewSeconds: Math.round(s.skew_ms! / 1000) })),
              },
              null,
              1,
            )}\n`,
          );
        } else {
          w(`未匹配名册的签到：${x.people.length}\n`, `Check-ins of people on no roster: ${x.people.length}\n`);
          for (const p of x.people)
            process.stdout.write(
              `  ${local(p.at)}\t${p.terminal}\t${t(lang, '考勤机编号', 'terminal id')} ${p.person}${p.name ? `\t${t(lang, '终端上的姓名', 'name on the terminal')} ${p.name}` : ''}\n`,
            );
          if (x.people.length)
            w(
              '  处理：在班次文件的 terminalIds 中加入这些编号后重新导入班次，再运行 classroom-agent checkins remap\n',
              "  Fix: add these ids to the trainees' terminalIds in the class file, import it again, then run classroom-agent checkins remap\n",
            );
          w(`无法完整解析的数据：${x.problems.length}\n`, `Inputs not fully readable: ${x.problems.length}\n`);
          for (const p of x.problems) process.stdout.write(`  #${p.id}\t${local(p.received_ms)}\t${p.protocol}\t${p.terminal ?? '-'}\t${p.status}\t${(p.error ?? '').slice(0, 160)}\n`);
          if (x.problems.length)
            w(
              '  原始数据已保存：classroom-agent checkins raw <编号>；修正原因后重新解析：classroom-agent checkins reparse\n',
              '  Raw data is kept: classroom-agent checkins raw <id>; once the cause is fixed, read them again: classroom-agent checkins reparse\n',
            );
          w(`时间不可信的签到：${x.flagged.length}\n`, `Check-ins with implausible times: ${x.flagged.length}\n`);
          for (const p of x.flagged) {
            const sk = skewOf(p.terminal);
            const what = p.timeFlag === 'future' ? t(lang, '晚于接收时间', 'later than received') : t(lang, '早于接收时间一年以上', 'over a year before it was received');
            process.stdout.write(
              `  ${local(p.at)}\t${p.terminal}\t${p.person}\t${what}\t${t(lang, '接收于', 'received')} ${local(p.receivedMs)}${sk !== null ? `\t${t(lang, '终端时钟偏差', 'terminal clock')} ${skewText(sk)}` : ''}\n`,
            );
          }
          if (x.flagged.length)
            w(
              '  处理：在终端上校准时间并开启 NTP（中控终端按本机 HTTP Date 校时，请确保本机时间正确）；记录已保留，保留期从接收时间起算\n',
              "  Fix: set the terminal's time and turn on NTP (ZKTeco terminals take the box's HTTP Date: keep the box on NTP); the rows are kept, retention counts from when they were received\n",
            );
          w(`时钟偏差超过 ${SKEW_WARN_MS / 1000} 秒的考勤机：${x.skewed.length}\n`, `Terminals with a clock off by more than ${SKEW_WARN_MS / 1000} s: ${x.skewed.length}\n`);
          for (const s of x.skewed)
            process.stdout.write(
              `  ${s.terminal}\t${skewText(s.skew_ms!)}${Math.abs(Math.abs(s.skew_ms!) - Math.round(Math.abs(s.skew_ms!) / 3600_000) * 3600_000) < 5 * 60_000 && Math.abs(s.skew_ms!) >= 3600_000 ? t(lang, '（整小时：时区设置错误？）', ' (whole hours: wrong time zone?)') : ''}\n`,
            );
          if (x.skewed.length)
            w(
              '  处理：在终端上设置正确的时区和时间（或开启 NTP），并核对配置 terminals[].timezone\n',
              "  Fix: set the terminal's time zone and time (or NTP) and check terminals[].timezone in the config\n",
            );
          w(`未计入签到的事件（未知事件码、计数器重用）：${x.events.length}\n`, `Events not counted (unknown event codes, counter reuse): ${x.events.length}\n`);
          for (const e of x.events)
            process.stdout.write(`  ${local(e.at_ms ?? e.received_ms)}\t${e.terminal}\t${e.kind}\t${e.code}\t${e.person ?? '-'}${e.person_name ? ` ${e.person_name}` : ''}\t#${e.raw_id ?? '-'}\n`);
          if (x.events.some((e) => e.kind === 'unknown-code'))
            w(
              '  处理：未知事件码不计为签到。查阅厂商文档确认含义；若是通过事件，请报告给项目（docs/checkin.md 事件码表），升级后运行 classroom-agent checkins reparse <原始数据编号>\n',
              "  Fix: unknown codes never count. Look the code up in the vendor's documents; if it is a pass, report it to the project (event-code tables in docs/checkin.md) and after upgrading run classroom-agent checkins reparse <raw id>\n",
            );
          if (x.events.some((e) => e.kind === 'counter-reuse'))
            w(
              '  计数器重用：终端更换或事件记录被清空；新事件已保存，无需处理，确认终端是否更换即可\n',
              '  Counter reuse: the terminal was replaced or its event log reset; the new events are stored; check whether the device was swapped\n',
            );
          w(`未批准的考勤机：${x.serials.length}\n`, `Unapproved terminals: ${x.serials.length}\n`);
          for (const s of x.serials)
            process.stdout.write(
              `  ${s.protocol}\t${s.serial}\t${s.address ?? '-'}\t${t(lang, '请求', 'requests')} ${s.requests}\t${t(lang, '最近', 'last')} ${local(s.last_ms)}\n\t${t(lang, '批准', 'approve')}: classroom-agent checkins approve ${s.serial}\n`,
            );
        }
        const n = x.people.length + x.problems.length + x.flagged.length + x.events.length + x.serials.length + x.skewed.length;
        return n ? EXIT.PROBLEM : EXIT.OK;
      }),
    );
  c.command('reparse')
    .description('用当前程序和设置重新解析已保存的原始数据（只新增更正记录，不修改已有记录） / read stored raw inputs again (corrections are added, nothing is edited)')
    .argument('[ids...]', '原始数据编号；省略时为所有无法完整解析的数据 / raw input ids; default: every input not fully readable')
    .option('--json', 'JSON')
    .action(
      action(async (ids: string[], o: { json?: boolean }, cmd: Command) => {
        const lang = langOf(cmd);
        const nums = ids.map((x) => Number(x));
        const bad = ids.find((x, i) => !Number.isInteger(nums[i]) || nums[i] < 1);
        if (bad !== undefined) throw new InputError('arguments', [{ path: 'ids', message: `"${bad}": a raw input id (a positive whole number, see checkins unknown)` }]);
        const cfg = configOf(cmd);
        const results = await withRepoAsync(cmd, async (r) => {
          const rows = r.rawForReparse(nums.length ? nums : undefined);
          if (nums.length && rows.length < nums.length) {
            const missing = nums.filter((n) => !rows.some((x) => x.id === n));
            throw new InputError('arguments', [{ path: 'ids', message: `no raw input ${missing.map((m) => `#${m}`).join(', ')}` }]);
          }
          const out = [];
          for (const row of rows) out.push(await reparseRaw(row, cfg.terminals, r));
          return out;
        });
        if (o.json) return void process.stdout.write(`${JSON.stringify(results, null, 1)}\n`);
        for (const x of results)
          process.stdout.write(
            `#${x.raw}\t${x.status}\t${t(lang, `新增 ${x.added}，作废 ${x.voided}，未计入事件 ${x.events}`, `added ${x.added}, voided ${x.voided}, not counted ${x.events}`)}${x.error ? `\t${x.error}` : ''}\n`,
          );
        process.stdout.write(t(lang, `已重新解析 ${results.length} 条原始数据\n`, `Read ${results.length} raw inputs again\n`));
      }),
    );
  c.command('approve')
    .description('批准一台已连接但未配置的中控考勤机 / approve a ZKTeco terminal that knocked without being configured')
    .argument('<serial>', '终端序列号（见 checkins terminals） / its serial (see checkins terminals)')
    .option('--id <id>', '终端编号（默认 zk-<序列号>） / terminal id (default zk-<serial>)')
    .option('--timezone <tz>', '终端时区 / its time zone', 'Asia/Shanghai')
    .action(
      action((serial: string, o: { id?: string; timezone: string }, cmd: Command) => {
        const lang = langOf(cmd);
        if (!/^[A-Za-z0-9._-]{1,64}$/.test(serial)) throw new InputError('arguments', [{ path: 'serial', message: '1-64 letters, digits or ._- (as the terminal sends it in SN=)' }]);
        const id = o.id ?? `zk-${serial}`;
        if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new InputError('arguments', [{ path: '--id', message: '1-64 letters, digits or ._-' }]);
        try {
          new Intl.DateTimeFormat('en', { timeZone: o.timezone });
        } catch {
          throw new InputError('arguments', [{ path: '--timezone', message: `"${o.timezone}" is not an IANA time zone (e.g. Asia/Shanghai)` }]);
        }
        const cfg = configOf(cmd);
        const clash = cfg.terminals.find((x) => x.id === id);
        if (clash) throw new InputError('arguments', [{ path: '--id', message: `terminal id "${id}" is already in the config; choose another with --id` }]);
        withRepo(cmd, (r) => r.approve('zkteco', serial, id, o.timezone), true);
        process.stdout.write(
          t(
            lang,
            `已批准：序列号 ${serial} 作为考勤机 ${id}（时区 ${o.timezone}）；下一次连接起接收其数据\n`,
            `Approved: serial ${serial} as terminal ${id} (zone ${o.timezone}); its data is accepted from its next request\n`,
          ),
        );
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
        const { states, serials } = withRepo(cmd, (r) => ({ states: r.states(), serials: r.serials() }));
        const pending = serials.filter((x) => x.approved_ms === null);
        const approved = serials.filter((x) => x.approved_ms !== null && x.terminal_id);
        const ids = [...new Set([...cfg.terminals.map((x) => x.id), ...approved.map((x) => x.terminal_id!), ...states.map((s) => s.terminal)])];
        const rows = ids.map((id) => {
          const s = states.find((x) => x.terminal === id);
          const conf = cfg.terminals.find((x) => x.id === id);
          return {
            terminal: id,
            protocol: conf?.protocol ?? s?.protocol ?? null,
            configured: !!conf,
            approvedSerial: approved.find((x) => x.terminal_id === id)?.serial ?? null,
            lastEvent: iso(s?.last_event_ms ?? null),
            lastContact: iso(s?.last_contact_ms ?? null),
            lastHeartbeat: iso(s?.last_heartbeat_ms ?? null),
            skewSeconds: s?.skew_ms != null ? Math.round(s.skew_ms / 1000) : null,
            cursor: s?.cursor ?? null,
          };
        });
        if (o.json) {
          // unapproved serials follow the terminals, one row each, with the command that approves them
          const unapproved = pending.map((x) => ({
            terminal: null,
            protocol: x.protocol,
            configured: false,
            unapproved: true,
            serial: x.serial,
            address: x.address,
            requests: x.requests,
            first: iso(x.first_ms),
            lastContact: iso(x.last_ms),
            approve: `classroom-agent checkins approve ${x.serial}`,
          }));
          return void process.stdout.write(`${JSON.stringify([...rows, ...unapproved], null, 1)}\n`);
        }
        for (const r of rows) {
          const s = states.find((x) => x.terminal === r.terminal);
          process.stdout.write(
            `${r.terminal}\t${r.protocol ?? '?'}\t${t(lang, '最近事件', 'last event')} ${local(s?.last_event_ms)}\t${t(lang, '最近联系', 'last contact')} ${local(s?.last_contact_ms)}` +
              `${s?.skew_ms != null && Math.abs(s.skew_ms) > SKEW_WARN_MS ? `\t${t(lang, `时钟偏差 ${skewText(s.skew_ms)}（请校时）`, `clock off by ${skewText(s.skew_ms)} (set its time)`)}` : ''}` +
              `${r.configured ? '' : r.approvedSerial ? `\t${t(lang, `已批准（序列号 ${r.approvedSerial}）`, `approved (serial ${r.approvedSerial})`)}` : `\t${t(lang, '未在配置中', 'not in config')}`}\n`,
          );
        }
        for (const x of pending) {
          process.stdout.write(
            `${t(lang, '未批准', 'unapproved')}\t${x.protocol}\t${t(lang, '序列号', 'serial')} ${x.serial}\t${x.address ?? '-'}\t${t(lang, '最近请求', 'last request')} ${local(x.last_ms)}\t${t(lang, '批准', 'approve')}: classroom-agent checkins approve ${x.serial}\n`,
          );
        }
      }),
    );
}
