import type { Command } from 'commander';
import { initLogging } from '../../core/log.js';
import { runDemo } from '../../sim/demo/demo.js';
import { intArg } from '../options.js';
import { action, globals, langOf } from '../context.js';

export function register(program: Command): void {
  program
    .command('demo')
    .description('演示：模拟教室（摄像头、签到终端、省信息系统）中运行完整守护进程 / demo: the whole daemon in a simulated classroom (camera, terminal, provincial system)')
    .option('--dir <dir>', '演示数据目录（每次清空）/ demo state folder (emptied first)')
    .option('--exit-when-done', '班次判定后自动退出 / exit after the class verdict')
    .option('--lesson-seconds <n>', '每课时秒数 / seconds per lesson', intArg(10, 3600), 60)
    .action(
      action(async (o: { dir?: string; exitWhenDone?: boolean; lessonSeconds: number }, cmd: Command) => {
        initLogging({ level: globals(cmd).logLevel ?? process.env.LOG_LEVEL ?? 'error', fd: 2 });
        const r = await runDemo({ stateDir: o.dir, lang: langOf(cmd), exitWhenDone: o.exitWhenDone, lessonSeconds: o.lessonSeconds });
        return r.classVerdictEligible === undefined ? 1 : 0;
      }),
    );
}
