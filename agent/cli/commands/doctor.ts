import type { Command } from 'commander';
import type { Config } from '../../config/schema.js';
import { InputError } from '../../core/errors.js';
import type { CheckResult } from '../../doctor/check.js';
import { doctorEnv, runDoctor } from '../../doctor/index.js';
import { action, configOf, EXIT, globals, langOf } from '../context.js';
import { t, type Lang } from '../i18n.js';

/** Display width: CJK characters take two columns in a terminal. */
export const width = (s: string) => [...s].reduce((w, ch) => w + (/[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1), 0);
/** Pad to display width n, and always at least two spaces: a long value never runs into the next column. */
export const pad = (s: string, n: number) => s + ' '.repeat(Math.max(2, n - width(s)));

const MARK = { ok: '✔', warn: '!', fail: '✘' } as const;

export function renderDoctor(results: CheckResult[], lang: Lang): string {
  const titles = results.map((r) => (lang === 'zh' ? r.title.zh : r.title.en));
  const w = Math.max(...titles.map(width)) + 2;
  const status = { ok: t(lang, '正常', 'ok'), warn: t(lang, '注意', 'warn'), fail: t(lang, '故障', 'FAIL') };
  // checks of several things (cameras, terminals) join their items with ' | ': one line each, aligned
  const indent = ' '.repeat(2 + 6 + w);
  const lines = results.map((r, i) => `${MARK[r.status]} ${pad(status[r.status], 5)} ${pad(titles[i], w)}${r.detail.split(' | ').join(`\n${indent}`)}`);
  const fixes = results.filter((r) => r.status !== 'ok' && r.fix);
  if (fixes.length) {
    lines.push('', t(lang, '处理方法：', 'How to fix:'));
    for (const r of fixes) lines.push(`  ${MARK[r.status]} ${lang === 'zh' ? r.title.zh : r.title.en}: ${lang === 'zh' ? r.fix!.zh : r.fix!.en}`);
  }
  const fail = results.filter((r) => r.status === 'fail').length;
  const warn = results.filter((r) => r.status === 'warn').length;
  lines.push(
    '',
    fail
      ? t(lang, `${fail} 项故障，${warn} 项注意`, `${fail} failed, ${warn} warning(s)`)
      : warn
        ? t(lang, `无故障，${warn} 项注意`, `no failures, ${warn} warning(s)`)
        : t(lang, '全部正常', 'all good'),
  );
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description(
      '自检：配置、数据库、磁盘、ffmpeg、时钟、摄像机、考勤终端、上传（MQTT）、人脸识别、告警……并给出处理方法 / health check (config, store, disk, ffmpeg, clock, cameras, terminals, MQTT, face engine, alarms) with a fix for each problem',
    )
    .option('--json', 'JSON')
    .addHelpText('after', '\n退出码 / exit status: 0 no failure (warnings allowed), 1 something failed')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        let cfg: Config | undefined;
        let configError: InputError | undefined;
        try {
          cfg = configOf(cmd);
        } catch (err) {
          if (!(err instanceof InputError)) throw err;
          configError = err;
        }
        const configFile = globals(cmd).config ?? process.env.CLASSROOM_AGENT_CONFIG;
        const results = await runDoctor(doctorEnv({ configFile, cfg, configError }));
        if (opts.json) process.stdout.write(`${JSON.stringify({ ok: !results.some((r) => r.status === 'fail'), checks: results }, null, 1)}\n`);
        else process.stdout.write(`${renderDoctor(results, langOf(cmd))}\n`);
        return results.some((r) => r.status === 'fail') ? EXIT.PROBLEM : EXIT.OK;
      }),
    );
}
