import type { Command } from 'commander';
import { listProfiles, loadProfile, profileWarnings } from '../../config/profile.js';
import { SERVICE_USER } from '../../config/secrets.js';
import { formatIssue, type InputIssue } from '../../core/errors.js';
import { action, configOf, globals, langOf } from '../context.js';
import { t } from '../i18n.js';

export function register(program: Command): void {
  const c = program.command('config').description('配置与规则 / configuration and rule profiles');
  c.command('check')
    .description('校验配置文件（列出所有错误及路径）/ validate the config file, listing every error with its path')
    .option('--service-user <name>', `也检查该用户能否读取密码文件（默认 ${SERVICE_USER}，若存在）/ also check that this user can read the secret files (default ${SERVICE_USER}, when it exists)`)
    .addHelpText('after', '\n退出码 / exit status: 0 valid, 2 problems listed')
    .action(
      action((o: { serviceUser?: string }, cmd: Command) => {
        const lang = langOf(cmd);
        const warnings: InputIssue[] = [];
        // warnings (old key names, still read) are printed whether or not errors follow
        const printWarnings = (source: string, ws: readonly InputIssue[]) => {
          for (const w of ws) process.stderr.write(`${t(lang, '警告', 'Warning')} (${source}): ${formatIssue(w, lang)}\n`);
        };
        let cfg: ReturnType<typeof configOf>;
        try {
          cfg = configOf(cmd, { secrets: true, serviceUser: o.serviceUser ?? SERVICE_USER, warnings });
        } finally {
          printWarnings(globals(cmd).config ?? process.env.CLASSROOM_AGENT_CONFIG ?? 'config', warnings);
        }
        printWarnings(`profile ${cfg.profile}`, profileWarnings(loadProfile(cfg.profile)));
        process.stdout.write(
          t(
            lang,
            `配置有效：盒子 ${cfg.box.id}，摄像头 ${cfg.cameras.length} 个，终端 ${cfg.terminals.length} 个，规则 ${cfg.profile}\n`,
            `Config valid: box ${cfg.box.id}, ${cfg.cameras.length} camera(s), ${cfg.terminals.length} terminal(s), profile ${cfg.profile}\n`,
          ),
        );
      }),
    );
  c.command('profiles')
    .description('列出规则配置及其出处 / list rule profiles and their sources')
    .option('--json', 'JSON')
    .action(
      action((opts: { json?: boolean }) => {
        const profiles = listProfiles().map((id) => loadProfile(id));
        if (opts.json) process.stdout.write(`${JSON.stringify(profiles, null, 1)}\n`);
        else for (const p of profiles) process.stdout.write(`${p.id}\t${p.name}\t${p.basis.join('; ')}\n`);
      }),
    );
}
