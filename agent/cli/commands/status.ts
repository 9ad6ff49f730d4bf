import fs from 'node:fs';
import type { Command } from 'commander';
import { statePaths } from '../../config/load.js';
import { formatDuration, formatLocal } from '../../core/time.js';
import { today, type Today } from '../../lessons/today.js';
import { Store } from '../../store/store.js';
import { action, configOf, langOf } from '../context.js';
import { t, type Lang } from '../i18n.js';
import { pad, width } from './doctor.js';
import { reasonText } from './recordings.js';
import { camerasNow, type CameraNow } from '../../recorder/status.js';

const REASONS: Record<string, [string, string]> = {
  'camera-down': ['摄像头未录像', 'camera down'],
  'continuous-unreachable': ['连续录像已不可能', 'continuous video unreachable'],
  'recording-gap': ['录像缺失超限', 'recording gap over tolerance'],
  'recording-stopped': ['录像中断', 'recording stopped'],
  'trainees-unseen': ['有学员未出镜', 'trainees not yet seen'],
};

export function renderToday(d: Today, lang: Lang, tz: string): string {
  const kind = (k: string) => (lang === 'zh' ? (({ theory: '理论', practical: '实操', online: '线上' } as Record<string, string>)[k] ?? k) : k);
  const min = (ms: number) => formatDuration(ms / 1000, lang);
  const out = [t(lang, `今日课时（${formatLocal(d.day.start, tz).slice(0, 10)}）`, `Today's lessons (${formatLocal(d.day.start, tz).slice(0, 10)})`)];
  if (!d.lessons.length) out.push(t(lang, '  今天本教室没有课时', '  no lessons in this room today'));
  const lessonW = Math.max(16, ...d.lessons.map((l) => width(`${l.classId}/${l.lessonId}`) + 2));
  for (const l of d.lessons) {
    const flag = l.state === 'ok' ? '✔' : l.state === 'at-risk' ? '!' : '✘';
    const phase = l.phase === 'upcoming' ? t(lang, '未开始', 'upcoming') : l.phase === 'on' ? t(lang, '进行中', 'on now') : t(lang, '已结束', 'over');
    const verdict = l.verdict === null ? '' : l.verdict ? t(lang, ' 结论:合格', ' verdict: ok') : t(lang, ' 结论:违规', ' verdict: violation');
    const risk = l.reasons.length ? ` [${l.reasons.map((r) => t(lang, REASONS[r]?.[0] ?? r, REASONS[r]?.[1] ?? r)).join(', ')}]` : '';
    out.push(
      `${flag} ${formatLocal(l.start, tz).slice(11)}-${formatLocal(l.end, tz).slice(11)} ${pad(kind(l.kind) + (l.makeUp ? '*' : ''), 10)}${pad(`${l.classId}/${l.lessonId}`, lessonW)}${pad(phase, 9)}` +
        t(lang, `已录 ${min(l.recordedMs)}，最长连续 ${min(l.longestMs)}，出镜 ${l.seen}/${l.trainees}`, `recorded ${min(l.recordedMs)}, longest ${min(l.longestMs)}, seen ${l.seen}/${l.trainees}`) +
        verdict +
        risk,
    );
  }
  out.push('', t(lang, `未处理告警：${d.alarms.length}`, `Open alarms: ${d.alarms.length}`));
  for (const a of d.alarms.slice(0, 8)) out.push(`  ! ${formatLocal(a.raised_ms, tz)} ${a.kind} ${a.subject}: ${a.message}`);
  out.push(
    t(
      lang,
      `待上报：${d.backlog.count} 条${d.backlog.oldestMs ? `，最早 ${formatLocal(d.backlog.oldestMs, tz)}` : ''}`,
      `Upload backlog: ${d.backlog.count}${d.backlog.oldestMs ? `, oldest ${formatLocal(d.backlog.oldestMs, tz)}` : ''}`,
    ),
  );
  return out.join('\n');
}

/**
 * One line per camera; each column as wide as its widest value (ids run to 64 characters) plus
 * two spaces, so columns line up and never run together.
 */
export function renderCameras(cams: CameraNow[], lang: Lang, tz: string, now: number): string {
  const out = [t(lang, '摄像机', 'Cameras')];
  if (!cams.length) out.push(t(lang, '  未配置摄像机', '  no cameras configured'));
  const idW = Math.max(14, ...cams.map((c) => width(c.camera) + 2));
  for (const c of cams) {
    const state = !c.enabled ? t(lang, '已停用', 'disabled') : c.recording ? t(lang, '录像中', 'recording') : t(lang, '未录像', 'NOT recording');
    const since = c.since ? t(lang, `自 ${formatLocal(c.since, tz)}`, `since ${formatLocal(c.since, tz)}`) : '';
    const last = c.lastSegmentEnd
      ? t(
          lang,
          `最新分段 ${formatLocal(c.lastSegmentEnd, tz).slice(11)}（${formatDuration((now - c.lastSegmentEnd) / 1000, lang)}前）`,
          `last segment ${formatLocal(c.lastSegmentEnd, tz).slice(11)} (${formatDuration((now - c.lastSegmentEnd) / 1000, lang)} ago)`,
        )
      : t(lang, '尚无分段', 'no segment yet');
    const rate = c.bitrate !== null ? `${(c.bitrate / 1e6).toFixed(2)} Mbit/s` : '-';
    const gap = c.openGap
      ? t(lang, `  空档自 ${formatLocal(c.openGap.start, tz)}：${reasonText(c.openGap.reason, lang)}`, `  gap since ${formatLocal(c.openGap.start, tz)}: ${reasonText(c.openGap.reason, lang)}`)
      : '';
    out.push(`  ${pad(c.camera, idW)}${pad(state, 14)}${pad(since, 26)}${pad(rate, 14)}${last}${gap}`);
  }
  return out.join('\n');
}

export function register(program: Command): void {
  program
    .command('status')
    .description('今日课时一览：录像、最长连续、出镜、风险、结论 / one-screen summary of today: recorded, longest stretch, seen, risks, verdicts')
    .option('--json', 'JSON')
    .action(
      action((opts: { json?: boolean }, cmd: Command) => {
        const lang = langOf(cmd);
        const cfg = configOf(cmd);
        const file = statePaths(cfg).database;
        if (!fs.existsSync(file)) {
          process.stdout.write(t(lang, `还没有证据数据库（${file}）：守护进程尚未运行过\n`, `No evidence store yet (${file}): the daemon has not run\n`));
          return 1;
        }
        const store = new Store({ file, readonly: true });
        try {
          const now = Date.now();
          const d = today(store, cfg, now);
          const cams = camerasNow(store, cfg, statePaths(cfg).video, now);
          if (opts.json) process.stdout.write(`${JSON.stringify({ ...d, cameras: cams }, null, 1)}\n`);
          else process.stdout.write(`${renderToday(d, lang, cfg.box.timezone)}\n\n${renderCameras(cams, lang, cfg.box.timezone, now)}\n`);
        } finally {
          store.close();
        }
      }),
    );
}
