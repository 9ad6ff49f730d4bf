import fs from 'node:fs';
import type { Command } from 'commander';
import { statePaths } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { InputError } from '../../core/errors.js';
import { adviceLines } from '../../recorder/plantext.js';
import { type GatheredPlan, gatherPlan } from '../../recorder/planinput.js';
import { Store } from '../../store/store.js';
import { action, configOf, EXIT, langOf } from '../context.js';
import { t, type Lang } from '../i18n.js';
import { pad as col } from './doctor.js';

import { gb } from '../../recorder/plantext.js';
const f2 = (n: number) => n.toFixed(2);
const f1 = (n: number) => n.toFixed(1);

/** "8TB", "2000 GB", "500000000000": decimal units, as disks are sold. */
export function parseDiskSize(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(tb|gb|t|g)?\s*$/i.exec(v);
  if (!m || Number(m[1]) <= 0) throw new InputError('arguments', [{ path: '--disk', message: `"${v}" is not a disk size: write e.g. 8TB or 2000GB / 请写成 8TB 或 2000GB 这样的大小` }]);
  const unit = (m[2] ?? '').toLowerCase();
  return Math.round(Number(m[1]) * (unit.startsWith('t') ? 1e12 : unit.startsWith('g') ? 1e9 : 1));
}

export function renderPlan(g: GatheredPlan, cfg: Config, lang: Lang): string {
  const r = g.result;
  const years = g.input.retentionYears;
  const out: string[] = [];
  const tt = g.timetable
    ? t(
        lang,
        `课表 ${g.timetable.first} 至 ${g.timetable.last}（${g.input.timetableDays} 天，其中 ${g.input.lessonDays} 天有课），每节课前后各多录 ${cfg.recorder.marginBeforeMinutes} / ${cfg.recorder.marginAfterMinutes} 分钟`,
        `timetable ${g.timetable.first} to ${g.timetable.last} (${g.input.timetableDays} days, ${g.input.lessonDays} with lessons), margins ${cfg.recorder.marginBeforeMinutes} min before and ${cfg.recorder.marginAfterMinutes} min after each lesson`,
      )
    : t(lang, '没有导入课表', 'no timetable imported');
  out.push(t(lang, `录像容量计划：保存 ${years} 年（${r.retentionDays} 天）；${tt}`, `Recording plan: keep ${years} years (${r.retentionDays} days); ${tt}`));
  out.push(
    `${col(t(lang, '摄像头', 'camera'), 10)}${col(t(lang, '码流', 'stream'), 8)}${col('kbit/s', 8)}${col(t(lang, '来源', 'source'), 10)}${col(t(lang, '小时/天', 'h/day'), 9)}${col(t(lang, `${years}年小时`, `h/${years}y`), 10)}${col('GB/h', 7)}GB`,
  );
  for (const c of r.cameras) {
    const src = c.source === 'segments' ? t(lang, '录像实测', 'measured') : c.source === 'probe' ? t(lang, '探测', 'probed') : t(lang, '未知', 'unknown');
    const mode = c.mode === 'always' ? t(lang, '（全天）', ' (always)') : '';
    out.push(
      `${col(c.id, 10)}${col(c.stream, 8)}${col(c.kbps === null ? '?' : String(c.kbps), 8)}${col(src, 10)}${col(f2(c.hoursPerDay) + mode, 9)}${col(f1(c.retentionHours), 10)}${col(c.bytesPerHour === null ? '?' : f2(c.bytesPerHour / 1e9), 7)}${c.bytes === null ? '?' : gb(c.bytes)}`,
    );
  }
  out.push(
    t(
      lang,
      `需要 ${gb(r.neededBytes)} GB；代理可用 ${gb(r.capacityBytes)} GB（留 10% 余量后 ${gb(r.capacityBytes * r.headroom)} GB）`,
      `needed ${gb(r.neededBytes)} GB; the agent may use ${gb(r.capacityBytes)} GB (${gb(r.capacityBytes * r.headroom)} GB keeping 10 % headroom)`,
    ),
  );
  const verdict =
    r.status === 'ok'
      ? t(lang, '结论：放得下', 'verdict: fits')
      : r.status === 'warn'
        ? t(lang, '结论：勉强或无法确定', 'verdict: tight or cannot tell')
        : t(lang, '结论：放不下', 'verdict: does not fit');
  out.push(`${r.status.toUpperCase()} ${verdict}`);
  const adv = adviceLines(r, lang);
  if (adv.length) {
    out.push(t(lang, '可以这样改：', 'what to change:'));
    for (const a of adv) out.push(`  - ${a}`);
  }
  return `${out.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('plan')
    .description('录像需要多少硬盘：按实测码率和课表算出保存期的容量 / disk needed for the retention period, from measured bitrates and the timetable')
    .option('--days <n>', '用最近几天的录像测码率（默认 7）/ measure bitrates over the last N days (default 7)', '7')
    .option('--disk <size>', '按这么大的空盘计算（如 8TB），而不是录像盘 / plan for an empty disk of this size (e.g. 8TB) instead of the video disk')
    .option('--no-probe', '不探测摄像头（只用录像实测）/ do not probe cameras (recordings only)')
    .option('--json', 'JSON')
    .action(
      action(async (o: { days: string; disk?: string; probe: boolean; json?: boolean }, cmd: Command) => {
        const lang = langOf(cmd);
        const cfg = configOf(cmd);
        const days = Number(o.days);
        if (!(days > 0)) throw new InputError('arguments', [{ path: '--days', message: `"${o.days}" is not a positive number of days / 请写正的天数` }]);
        const diskBytes = o.disk === undefined ? undefined : parseDiskSize(o.disk);
        const paths = statePaths(cfg);
        if (!fs.existsSync(paths.database)) {
          process.stdout.write(
            t(
              lang,
              `还没有证据数据库（${paths.database}）：先导入课表（classroom-agent classes import）\n`,
              `No evidence store yet (${paths.database}): import the timetable first (classroom-agent classes import)\n`,
            ),
          );
          return EXIT.PROBLEM;
        }
        fs.mkdirSync(paths.video, { recursive: true });
        const store = new Store({ file: paths.database, readonly: true });
        try {
          const g = await gatherPlan(store, cfg, { now: Date.now(), days, videoDir: paths.video, diskBytes, probe: o.probe });
          if (o.json)
            process.stdout.write(
              `${JSON.stringify({ ...g.result, timetable: g.timetable ?? null, timetableDays: g.input.timetableDays, lessonDays: g.input.lessonDays, retentionYears: g.input.retentionYears }, null, 1)}\n`,
            );
          else process.stdout.write(renderPlan(g, cfg, lang));
          return g.result.status === 'fail' ? EXIT.PROBLEM : EXIT.OK;
        } finally {
          store.close();
        }
      }),
    );
}
