import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { statePaths } from '../../config/load.js';
import { InputError } from '../../core/errors.js';
import { formatDuration, formatIso, formatLocal, parseLocalOrIso } from '../../core/time.js';
import { ExportError, exportVideo, manifestPathOf, verifyExport } from '../../recorder/export.js';
import { RecordingRepo } from '../../store/recordings.js';
import { Store } from '../../store/store.js';
import { action, configOf, EXIT, langOf } from '../context.js';
import { t, type Lang } from '../i18n.js';
import { pad as col } from './doctor.js';

/** Gap reasons in both languages (the stored reason is the English key). */
export const GAP_REASONS: Record<string, [string, string]> = {
  'camera unreachable': ['摄像机不可达（断电、断网或地址错误）', 'camera unreachable (off, unplugged or wrong address)'],
  'auth failed': ['摄像机拒绝用户名或密码', 'the camera refused the user name or password'],
  'stream stalled': ['码流中断（摄像机卡死或网络丢流）', 'stream stalled (camera frozen or the network dropped it)'],
  'ffmpeg exited': ['录像进程退出', 'the recording process (ffmpeg) ended'],
  'disk full': ['磁盘已满', 'disk full'],
  'agent stopped': ['代理已停止', 'agent stopped'],
  'agent crashed': ['无代理监管时录像结束（断电或进程被杀）', 'recording ended while no agent watched (power cut, or ffmpeg killed)'],
  'config error': ['配置不可用（如未设置的环境变量密码）', 'unusable camera settings (for example an unset environment secret)'],
  'not scheduled': ['课表外不录像', 'outside the timetable: not recorded'],
  'not recorded': ['无录像', 'not recorded'],
};
export const reasonText = (r: string, lang: Lang) => t(lang, GAP_REASONS[r]?.[0] ?? r, GAP_REASONS[r]?.[1] ?? r);

function timeOpt(v: string | undefined, name: string, tz: string, fallback: number): number {
  if (v === undefined) return fallback;
  const ms = parseLocalOrIso(v, tz);
  if (ms === undefined)
    throw new InputError('arguments', [{ path: name, message: `"${v}" is not a time: use 2026-11-30 08:00 (local, ${tz}) or ISO 8601 / 请用 2026-11-30 08:00（本地时间）或 ISO 8601` }]);
  return ms;
}

function window(o: { from?: string; to?: string }, tz: string, now: number) {
  const to = timeOpt(o.to, '--to', tz, now);
  const from = timeOpt(o.from, '--from', tz, to - 86_400_000);
  if (from >= to) throw new InputError('arguments', [{ path: '--from', message: '--from must be before --to / --from 必须早于 --to' }]);
  return { start: from, end: to };
}

function readStore(cmd: Command): { store: Store; cameras: string[]; tz: string; ffmpegPath?: string; lang: Lang } | number {
  const lang = langOf(cmd);
  const cfg = configOf(cmd);
  const file = statePaths(cfg).database;
  if (!fs.existsSync(file)) {
    process.stdout.write(t(lang, `还没有证据数据库（${file}）：守护进程尚未运行过\n`, `No evidence store yet (${file}): the daemon has not run\n`));
    return EXIT.PROBLEM;
  }
  return { store: new Store({ file, readonly: true }), cameras: cfg.cameras.map((c) => c.id), tz: cfg.box.timezone, ffmpegPath: cfg.recorder.ffmpegPath, lang };
}

function cameraArg(cam: string, known: string[]): string {
  if (!known.includes(cam)) throw new InputError('arguments', [{ path: 'CAMERA', message: `no camera "${cam}" in the config; cameras: ${known.join(', ') || '(none)'} / 配置中没有此摄像机` }]);
  return cam;
}

export function register(program: Command): void {
  const r = program.command('recordings').description('录像分段与空档 / recorded segments and gaps');
  r.command('list')
    .description("某摄像机一段时间内的录像分段 / a camera's segments in a time range")
    .argument('<camera>', '摄像机 id / camera id')
    .option('--from <time>', '开始（默认 --to 前 24 小时）/ start (default: 24 h before --to)')
    .option('--to <time>', '结束（默认现在）/ end (default: now)')
    .option('--json', 'JSON')
    .action(
      action((camera: string, o: { from?: string; to?: string; json?: boolean }, cmd: Command) => {
        const ctx = readStore(cmd);
        if (typeof ctx === 'number') return ctx;
        const { store, tz, lang } = ctx;
        try {
          cameraArg(camera, ctx.cameras);
          const w = window(o, tz, Date.now());
          const repo = new RecordingRepo(store);
          const segs = repo.segments(camera, w);
          if (o.json)
            return void process.stdout.write(
              `${JSON.stringify(
                segs.map((s) => ({
                  id: s.id,
                  path: s.path,
                  start: formatIso(s.start_ms, tz),
                  end: formatIso(s.end_ms, tz),
                  seconds: (s.end_ms - s.start_ms) / 1000,
                  bytes: s.bytes,
                  sha256: s.sha256,
                  recovered: !!s.recovered,
                })),
                null,
                1,
              )}\n`,
            );
          if (!segs.length) return void process.stdout.write(t(lang, '这段时间没有录像\n', 'No video in this range\n'));
          process.stdout.write(`${col(t(lang, '开始', 'start'), 21)}${col(t(lang, '结束', 'end'), 21)}${col(t(lang, '时长', 'length'), 14)}${col('MB', 8)}${t(lang, '文件', 'file')}\n`);
          for (const s of segs)
            process.stdout.write(
              `${col(formatLocal(s.start_ms, tz), 21)}${col(formatLocal(s.end_ms, tz), 21)}${col(formatDuration((s.end_ms - s.start_ms) / 1000, lang), 14)}${col((s.bytes / 1e6).toFixed(1), 8)}${s.path}${s.recovered ? t(lang, '（恢复）', ' (recovered)') : ''}\n`,
            );
          const cov = repo.coverage(camera, w, 0);
          process.stdout.write(
            t(lang, `共 ${segs.length} 段，已录 ${formatDuration(cov.recordedMs / 1000, lang)}\n`, `${segs.length} segments, ${formatDuration(cov.recordedMs / 1000, lang)} recorded\n`),
          );
        } finally {
          store.close();
        }
      }),
    );
  r.command('gaps')
    .description('未录像的时段及原因 / unrecorded stretches with their reasons')
    .argument('[camera]', '摄像机 id（默认全部）/ camera id (default: all)')
    .option('--from <time>', '开始（默认 --to 前 24 小时）/ start (default: 24 h before --to)')
    .option('--to <time>', '结束（默认现在）/ end (default: now)')
    .option('--json', 'JSON')
    .action(
      action((camera: string | undefined, o: { from?: string; to?: string; json?: boolean }, cmd: Command) => {
        const ctx = readStore(cmd);
        if (typeof ctx === 'number') return ctx;
        const { store, tz, lang } = ctx;
        try {
          const cams = camera ? [cameraArg(camera, ctx.cameras)] : ctx.cameras;
          const w = window(o, tz, Date.now());
          const repo = new RecordingRepo(store);
          const rows = cams.flatMap((c) => repo.gaps(c, w).map((g) => ({ camera: c, start: g.start_ms, end: g.end_ms, reason: g.reason, detail: g.detail })));
          if (o.json)
            return void process.stdout.write(
              `${JSON.stringify(
                rows.map((g) => ({
                  ...g,
                  start: formatIso(g.start, tz),
                  end: g.end === null ? null : formatIso(g.end, tz),
                  open: g.end === null,
                  reasonText: { zh: GAP_REASONS[g.reason]?.[0] ?? g.reason, en: GAP_REASONS[g.reason]?.[1] ?? g.reason },
                })),
                null,
                1,
              )}\n`,
            );
          if (!rows.length) return void process.stdout.write(t(lang, '这段时间没有空档\n', 'No gaps in this range\n'));
          for (const g of rows) {
            const end = g.end === null ? t(lang, '（仍在继续）', '(still open)') : formatLocal(g.end, tz);
            const len = formatDuration(((g.end ?? Date.now()) - g.start) / 1000, lang);
            process.stdout.write(`${col(g.camera, 12)}${col(formatLocal(g.start, tz), 21)}${col(end, 21)}${col(len, 14)}${reasonText(g.reason, lang)}\n`);
            if (g.detail) process.stdout.write(`    ${g.detail}\n`);
          }
        } finally {
          store.close();
        }
      }),
    );

  program
    .command('export-video')
    .description('把一段录像导出为一个 MP4（流拷贝，附来源清单和 SHA-256）/ export a time range as one MP4 (stream copy) with a manifest of its sources and SHA-256')
    .argument('<camera>', '摄像机 id / camera id')
    .requiredOption('--from <time>', '开始 / start')
    .requiredOption('--to <time>', '结束 / end')
    .requiredOption('-o, --out <file>', '输出 MP4 / output MP4')
    .action(
      action(async (camera: string, o: { from: string; to: string; out: string }, cmd: Command) => {
        const ctx = readStore(cmd);
        if (typeof ctx === 'number') return ctx;
        const { store, tz, lang } = ctx;
        try {
          cameraArg(camera, ctx.cameras);
          const w = window(o, tz, Date.now());
          const out = path.resolve(o.out);
          if (!fs.existsSync(path.dirname(out))) throw new InputError('arguments', [{ path: '--out', message: `folder ${path.dirname(out)} does not exist / 目录不存在` }]);
          let m;
          try {
            m = await exportVideo({ repo: new RecordingRepo(store), camera, from: w.start, to: w.end, out, ffmpegPath: ctx.ffmpegPath });
          } catch (err) {
            if (!(err instanceof ExportError)) throw err;
            const zh: Record<ExportError['kind'], string> = {
              'nothing recorded': '这段时间没有录像',
              'source changed': '源文件与登记时不一致，未导出',
              'source missing': '源文件不在磁盘上',
              'ffmpeg failed': 'ffmpeg 导出失败',
            };
            process.stderr.write(`${t(lang, zh[err.kind], err.kind)}: ${err.message}\n`);
            return EXIT.PROBLEM;
          }
          const problems = await verifyExport(manifestPathOf(out));
          process.stdout.write(
            t(
              lang,
              `已导出 ${out}（${m.sources.length} 个来源分段，${m.gaps.length} 处空档）\n清单：${manifestPathOf(out)}\n`,
              `Exported ${out} (${m.sources.length} source segments, ${m.gaps.length} gaps)\nManifest: ${manifestPathOf(out)}\n`,
            ),
          );
          for (const g of m.gaps) process.stdout.write(`  ${t(lang, '空档', 'gap')} ${formatLocal(g.start, tz)} – ${formatLocal(g.end, tz)}: ${reasonText(g.reason, lang)}\n`);
          if (problems.length) {
            for (const p of problems) process.stderr.write(`${p}\n`);
            return EXIT.PROBLEM;
          }
          process.stdout.write(t(lang, '清单校验通过（SHA-256）\n', 'Manifest verified (SHA-256)\n'));
        } finally {
          store.close();
        }
      }),
    );
}
