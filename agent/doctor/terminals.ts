import type { TerminalConfig } from '../config/schema.js';
import { SKEW_WARN_MS } from '../checkin/clock.js';
import { CheckinRepo, type SerialRow, type TerminalEventRow, type TerminalStateRow } from '../store/checkins.js';
import { needsConfig, readStore, type Bilingual, type Check, type CheckStatus } from './check.js';

/** A terminal clock this far off shifts every check-in it stamps: the one threshold of checkin/clock.ts, shared with the CLI. */
export const TERMINAL_SKEW_WARN_MS = SKEW_WARN_MS;

const ago = (ms: number) =>
  ms < 120_000
    ? `${Math.round(ms / 1000)} s ago`
    : ms < 2 * 3600_000
      ? `${Math.round(ms / 60_000)} min ago`
      : ms < 48 * 3600_000
        ? `${(ms / 3600_000).toFixed(1)} h ago`
        : `${Math.round(ms / 86_400_000)} days ago`;

/** What to do when a terminal is silent depends on who dials whom. */
function silenceFix(t: TerminalConfig, where: string, port: number): Bilingual {
  if (t.protocol === 'hikvision' && !t.url) {
    // push mode (httpHosts): the terminal dials this box; it has no url in the config
    return {
      zh: `终端 ${t.id}（海康，终端推送到本机）：在终端网页的“事件 → 报警主机/HTTP 监听”中把地址设为 http://<本机IP>:${port}/hikvision/${t.id}（带令牌），协议 HTTP、格式 JSON；终端重启后需确认该设置仍在；检查网线和电源；核对终端时钟`,
      en: `terminal ${t.id} (Hikvision, it pushes to this box): in its web page (Event → HTTP listening / alarm host) set the address to http://<box IP>:${port}/hikvision/${t.id} (with the token), protocol HTTP, format JSON; check it is still set after a reboot; check the cable and power; check the terminal's clock`,
    };
  }
  if (t.protocol === 'hikvision' || t.protocol === 'dahua') {
    return {
      zh: `终端 ${t.id}（${t.protocol}，由本机连接终端）：检查 ${where}.url 地址是否可达（ping）、用户名密码是否正确、网线和电源；并核对终端时钟`,
      en: `terminal ${t.id} (${t.protocol}, this box connects to it): check that ${where}.url is reachable (ping), the user name and password, the cable and power; and check the terminal's clock`,
    };
  }
  return {
    zh: `终端 ${t.id}（${t.protocol}，由终端推送到本机）：在终端菜单中把服务器地址设为本机 IP、端口 ${port}${t.protocol === 'zkteco' ? `（ADMS/云服务器设置，序列号 ${t.serial ?? '见配置 serial'}）` : ''}；检查网线和电源；核对终端时钟`,
    en: `terminal ${t.id} (${t.protocol}, it pushes to this box): set the server address in the terminal's menu to this box's IP, port ${port}${t.protocol === 'zkteco' ? ` (ADMS/cloud server settings, serial ${t.serial ?? 'see serial in the config'})` : ''}; check the cable and power; check the terminal's clock`,
  };
}

interface Seen {
  states: Map<string, TerminalStateRow>;
  serials: SerialRow[];
  events: TerminalEventRow[];
  flagged: number;
}

function stateOf(file: string): Promise<Seen | undefined> {
  return readStore(file, (s) => {
    const r = new CheckinRepo(s);
    return {
      states: new Map(r.states().map((x) => [x.terminal, x])),
      serials: r.serials({ pendingOnly: true }),
      events: r.events({ kinds: ['unknown-code'], limit: 20 }),
      flagged: r.list({ flaggedOnly: true, limit: 1000 }).length,
    };
  });
}

export const terminalsCheck: Check = {
  id: 'terminals',
  title: { zh: '考勤终端', en: 'check-in terminals' },
  async run(env) {
    const skip = needsConfig(env);
    if (skip) return skip;
    const cfg = env.cfg!;
    const terms = cfg.terminals.map((t, i) => ({ t, where: `terminals[${i}]` })).filter((x) => x.t.enabled);
    const seen = await stateOf(env.paths!.database);
    const states = seen?.states ?? new Map<string, TerminalStateRow>();
    if (!terms.length && !seen?.serials.length) return { status: 'ok', detail: 'no terminal configured (check-ins by face terminal not used)' };
    const quietMs = cfg.checkin.quietMinutes * 60_000;
    let status: CheckStatus = 'ok';
    const parts: string[] = [];
    const fixes: Bilingual[] = [];
    for (const { t, where } of terms) {
      const st = states.get(t.id);
      const contact = Math.max(st?.last_contact_ms ?? 0, st?.last_heartbeat_ms ?? 0, st?.last_event_ms ?? 0);
      if (!contact) {
        status = 'warn';
        parts.push(`${t.id}: never heard from`);
        fixes.push(silenceFix(t, where, cfg.checkin.listen.port));
        continue;
      }
      const ev = st?.last_event_ms ? `last event ${ago(env.now - st.last_event_ms)}` : 'no event yet';
      const hb = st?.last_heartbeat_ms ?? st?.last_contact_ms;
      const line = [`${t.id}: ${ev}`, hb ? `last heartbeat ${ago(env.now - hb)}` : 'no heartbeat'];
      if (st?.skew_ms != null) line.push(`clock ${st.skew_ms >= 0 ? '+' : ''}${(st.skew_ms / 1000).toFixed(0)} s`);
      if (env.now - contact >= quietMs) {
        status = 'warn';
        line.push(`quiet for ${ago(env.now - contact).replace(' ago', '')} (> ${cfg.checkin.quietMinutes} min; normal only if it is switched off outside lessons)`);
        fixes.push(silenceFix(t, where, cfg.checkin.listen.port));
      }
      if (st?.skew_ms != null && Math.abs(st.skew_ms) > TERMINAL_SKEW_WARN_MS) {
        status = 'warn';
        const h = Math.abs(st.skew_ms) >= 3600_000 ? ` (${(st.skew_ms / 3600_000).toFixed(1)} h)` : '';
        fixes.push({
          zh: `终端 ${t.id} 时钟偏差 ${Math.round(st.skew_ms / 1000)} 秒${h}：签到时间以终端时钟为准，请在终端上开启 NTP 或校准时间，并核对时区（配置为 ${t.timezone}）`,
          en: `terminal ${t.id} clock off by ${Math.round(st.skew_ms / 1000)} s${h}: check-in times come from the terminal's clock; turn on NTP in the terminal or set its time, and check its time zone (configured ${t.timezone})`,
        });
      }
      parts.push(line.join(', '));
    }
    for (const x of seen?.serials ?? []) {
      status = 'warn';
      parts.push(`unapproved ${x.protocol} serial ${x.serial}${x.address ? ` from ${x.address}` : ''} (${x.requests} requests refused)`);
      fixes.push({
        zh: `考勤机序列号 ${x.serial} 在连接但未配置：确认是本教室的设备后运行 classroom-agent checkins approve ${x.serial}`,
        en: `terminal serial ${x.serial} is calling but not configured: if it is this classroom's device, run classroom-agent checkins approve ${x.serial}`,
      });
    }
    if (seen?.flagged) {
      status = 'warn';
      parts.push(`${seen.flagged} check-ins with implausible times`);
      fixes.push({
        zh: '有签到时间不可信（未来或一年以前）：见 classroom-agent checkins unknown，校准对应终端时钟',
        en: "check-ins with implausible times (future, or over a year old): see classroom-agent checkins unknown and set those terminals' clocks",
      });
    }
    if (seen?.events.length) {
      status = 'warn';
      const codes = [...new Set(seen.events.map((e) => `${e.terminal} ${e.code}`))].slice(0, 5);
      parts.push(`unknown event codes (not counted): ${codes.join(', ')}`);
      fixes.push({
        zh: '未知事件码不计为签到：见 classroom-agent checkins unknown 与 docs/checkin.md 事件码表',
        en: 'unknown event codes are not counted: see classroom-agent checkins unknown and the event-code tables in docs/checkin.md',
      });
    }
    return { status, detail: parts.join(' | '), ...(fixes.length ? { fix: { zh: fixes.map((f) => f.zh).join('；'), en: fixes.map((f) => f.en).join('; ') } } : {}) };
  },
};
