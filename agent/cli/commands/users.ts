import type { Command } from 'commander';
import { hashPassword, passwordProblem } from '../../console/auth.js';
import { InputError } from '../../core/errors.js';
import { CONSOLE_ROLES, ConsoleRepo, type ConsoleRole } from '../../store/console.js';
import { action, configOf, EXIT, langOf, openStore } from '../context.js';
import { t } from '../i18n.js';

/**
 * The password: from CLASSROOM_AGENT_PASSWORD (scripts, the demo) or read from stdin (piped or
 * typed); never an argument, which `ps` and the shell history would show.
 */
async function readPassword(): Promise<string> {
  const env = process.env.CLASSROOM_AGENT_PASSWORD;
  if (env) return env;
  if (process.stdin.isTTY) process.stderr.write('密码 / password: ');
  let text = '';
  for await (const c of process.stdin) {
    text += (c as Buffer).toString('utf8');
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0];
}

const NAME = /^[\p{L}\p{N}._@-]{1,64}$/u;

export function checkName(name: string): void {
  if (!NAME.test(name)) throw new InputError('users', [{ path: 'NAME', message: `"${name}": 1-64 letters, digits, . _ @ - / 用户名为 1-64 个字母、数字或 . _ @ -` }]);
}

/** A new password's hash, the password read as readPassword says and checked (also the central's supervisors). */
export async function newHash(): Promise<string> {
  const pw = await readPassword();
  const problem = passwordProblem(pw);
  if (problem) throw new InputError('password', [{ path: 'password', message: problem }]);
  return hashPassword(pw);
}

export function register(program: Command): void {
  const users = program.command('users').description('控制台用户（技术员、学校、检查人员）/ console users (technician, school, inspector)');
  users
    .command('add')
    .description('添加用户；密码从标准输入或 CLASSROOM_AGENT_PASSWORD 读取 / add a user; the password comes from stdin or CLASSROOM_AGENT_PASSWORD')
    .argument('<name>', '用户名 / user name')
    .requiredOption('--role <role>', `角色 / role: ${CONSOLE_ROLES.join('|')}`)
    .action(
      action(async (name: string, opts: { role: string }, cmd: Command) => {
        const lang = langOf(cmd);
        checkName(name);
        if (!CONSOLE_ROLES.includes(opts.role as ConsoleRole))
          throw new InputError('users', [{ path: '--role', message: `"${opts.role}" is not one of ${CONSOLE_ROLES.join(', ')} / 角色须为 ${CONSOLE_ROLES.join('、')}` }]);
        const hash = await newHash();
        const store = openStore(configOf(cmd));
        try {
          if (!new ConsoleRepo(store).addUser(name, opts.role as ConsoleRole, hash)) {
            throw new InputError('users', [{ path: 'NAME', message: `"${name}" exists already (change its password with users passwd) / 用户已存在，改密码请用 users passwd` }]);
          }
        } finally {
          store.close();
        }
        process.stdout.write(t(lang, `已添加用户 ${name}（${opts.role}）；控制台几秒内开始监听\n`, `Added user ${name} (${opts.role}); the console starts listening within seconds\n`));
      }),
    );
  users
    .command('list')
    .description('列出用户 / list users')
    .option('--json', 'JSON')
    .action(
      action((opts: { json?: boolean }, cmd: Command) => {
        const store = openStore(configOf(cmd));
        try {
          const rows = new ConsoleRepo(store).users();
          process.stdout.write(
            opts.json ? `${JSON.stringify(rows, null, 1)}\n` : rows.map((r) => `${r.name}\t${r.role}\t${new Date(r.created_ms).toISOString()}`).join('\n') + (rows.length ? '\n' : ''),
          );
        } finally {
          store.close();
        }
      }),
    );
  users
    .command('remove')
    .description('删除用户（其会话立即失效）/ remove a user (their sessions end at once)')
    .argument('<name>', '用户名 / user name')
    .action(
      action((name: string, _o: unknown, cmd: Command) => {
        const store = openStore(configOf(cmd));
        try {
          if (!new ConsoleRepo(store).removeUser(name)) {
            process.stderr.write(t(langOf(cmd), `没有用户 ${name}\n`, `No user ${name}\n`));
            return EXIT.INPUT;
          }
        } finally {
          store.close();
        }
      }),
    );
  users
    .command('passwd')
    .description('修改密码（从标准输入读取）/ change a password (read from stdin)')
    .argument('<name>', '用户名 / user name')
    .action(
      action(async (name: string, _o: unknown, cmd: Command) => {
        const hash = await newHash();
        const store = openStore(configOf(cmd));
        try {
          if (!new ConsoleRepo(store).setPassword(name, hash)) {
            process.stderr.write(t(langOf(cmd), `没有用户 ${name}\n`, `No user ${name}\n`));
            return EXIT.INPUT;
          }
        } finally {
          store.close();
        }
      }),
    );
}
