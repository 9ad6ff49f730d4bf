import type { Command } from 'commander';
import { initLogging } from '../../core/log.js';
import { runDaemon } from '../../daemon.js';
import { action, configOf, globals } from '../context.js';

export function register(program: Command): void {
  program
    .command('run')
    .description('运行守护进程（录像、签到、识别、合规、上报、留存）/ run the daemon (recording, check-ins, vision, compliance, sync, retention)')
    .addHelpText('after', '\n退出码 / exit status: 0 stopped, 2 config, 3 internal error, 4 store unusable, 5 stop timed out')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        // the whole file, secrets included, before anything starts: a config mistake never leaves
        // a daemon running half its modules
        const cfg = configOf(cmd, { secrets: true });
        // the daemon logs at the configured level to stdout (journald), not the CLI's quiet stderr
        initLogging({ level: globals(cmd).logLevel ?? process.env.LOG_LEVEL ?? cfg.log.level, fd: 1 });
        const code = await runDaemon({ cfg });
        // why exit explicitly: a module that leaked a handle must not keep a stopped daemon alive
        process.exit(code);
      }),
    );
}
