#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { translateCommanderError } from './options.js';
import { createRequire } from 'node:module';
import { register as registerCheckins } from './commands/checkins.js';
import { register as registerClasses } from './commands/classes.js';
import { register as registerConfig } from './commands/config.js';
import { register as registerCameras } from './commands/cameras.js';
import { register as registerEvaluate } from './commands/evaluate.js';
import { register as registerVision } from './commands/vision.js';
import { register as registerRun } from './commands/run.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerDoctor } from './commands/doctor.js';
import { register as registerSync } from './commands/sync.js';
import { register as registerStatus } from './commands/status.js';
import { register as registerVerify } from './commands/verify.js';
import { register as registerUsers } from './commands/users.js';
import { register as registerRecordings } from './commands/recordings.js';
import { register as registerPlan } from './commands/plan.js';

const pkg = createRequire(import.meta.url)('../../../package.json') as { version: string };

// the database, keys and video are the trainees' personal data: whatever creates them (the
// daemon, a CLI command, ffmpeg) makes them 0600/0700, under systemd (UMask=0077) or not
process.umask(0o077);

/** The CLI: argument parsing and printing only; each command lives in commands/. */
const program = new Command('classroom-agent')
  .description('职业技能培训课堂取证代理（豫人社办〔2025〕60号）/ classroom evidence agent for subsidized vocational training')
  .version(pkg.version)
  .option('-c, --config <file>', '配置文件 / config file (default: embedded defaults, or $CLASSROOM_AGENT_CONFIG)')
  .option('--state <dir>', '状态目录（覆盖配置）/ state folder, overrides paths.state ($CLASSROOM_AGENT_STATE)')
  .option('--lang <zh|en>', '输出语言 / output language (default: from the locale, Chinese first)')
  .option('--log-level <level>', '日志级别 / log level for stderr JSON logs')
  .showHelpAfterError('（用 --help 查看用法 / see --help）')
  .configureOutput({ outputError: (str, write) => write(translateCommanderError(str)) })
  // why: commander exits 1 on a usage error (and the bare program prints its help); a wrong
  // command line is unusable input, exit 2, like a bad config
  .exitOverride();

for (const register of [
  registerEvaluate,
  registerClasses,
  registerConfig,
  registerCameras,
  registerCheckins,
  registerVision,
  registerRun,
  registerDemo,
  registerSync,
  registerDoctor,
  registerStatus,
  registerRecordings,
  registerPlan,
  registerVerify,
  registerUsers,
])
  register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version';
  process.exitCode = ok ? 0 : 2;
}
