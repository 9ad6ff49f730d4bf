import type { TerminalConfig } from '../config/schema.js';
import { CheckinRepo, type TerminalStateRow } from '../store/checkins.js';
import { needsConfig, readStore, type Bilingual, type Check, type CheckStatus } from './check.js';

/** A terminal clock this far off shifts every check-in it stamps: warn (same order as the cameras' 2 s is too strict for terminals that stamp whole minutes on some firmware). */
export const TERMINAL_SKEW_WARN_MS = 60_000;

const ago = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)} s ago` : ms < 2 * 3600_000 ? `${Math.round(ms / 60_000)} min ago` : ms < 48 * 3600_000 ? `${(ms / 3600_000).toFixed(1)} h ago` : `${Math.round(ms / 86_400_000)} days ago`);

/** What to do when a terminal is silent depends on who dials whom. */
function silenceFix(t: TerminalConfig, where: string, port: number): Bilingual {
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

function stateOf(file: string): Promise<Map<string, TerminalStateRow> | undefined> {
  return readStore(file, (s) => new Map(new CheckinRepo(s).states().map((r) => [r.terminal, r])));
}

export const terminalsCheck: Check = {
  id: 'terminals',
  title: { zh: '考勤终端', en: 'check-in terminals' },
  async run(env) {
    const skip = needsConfig(env);
    if (skip) return skip;
    const cfg = env.cfg!;
    const terms = cfg.terminals.map((t, i) => ({ t, where: `terminals[${i}]` })).filter((x) => x.t.enabled);
    if (!terms.length) return { status: 'ok', detail: 'no terminal configured (check-ins by face terminal not used)' };
    const states = (await stateOf(env.paths!.database)) ?? new Map<string, TerminalStateRow>();
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
        fixes.push({
          zh: `终端 ${t.id} 时钟偏差 ${Math.round(st.skew_ms / 1000)} 秒：签到时间以终端时钟为准，请在终端上开启 NTP 或校准时间（时区 ${t.timezone}）`,
          en: `terminal ${t.id} clock off by ${Math.round(st.skew_ms / 1000)} s: check-in times come from the terminal's clock; turn on NTP in the terminal or set its time (time zone ${t.timezone})`,
        });
      }
      parts.push(line.join(', '));
    }
    return { status, detail: parts.join(' | '), ...(fixes.length ? { fix: { zh: fixes.map((f) => f.zh).join('；'), en: fixes.map((f) => f.en).join('; ') } } : {}) };
  },
};
