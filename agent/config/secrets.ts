import fs from 'node:fs';
import path from 'node:path';
import { formatPath, type InputIssue } from '../core/errors.js';

/** The user the installed unit runs as (systemd/classroom-agent.service: User=). */
export const SERVICE_USER = 'classroom-agent';

export interface SecretCheckOptions {
  /** also check that this user can read secret files (the installed service's user); skipped when it does not exist */
  serviceUser?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Every secret reference of a config document ({ file } or { env }, wherever it sits, so keys
 * added later are covered too), checked the way the daemon will use it: the file exists and can
 * be read, by this process and by the service's user; the variable is set.
 */
export function secretIssues(doc: unknown, o: SecretCheckOptions = {}): InputIssue[] {
  const out: InputIssue[] = [];
  const env = o.env ?? process.env;
  const user = o.serviceUser ? lookupUser(o.serviceUser) : undefined;
  for (const { at, ref } of secretRefs(doc)) {
    const where = formatPath(at);
    if ('env' in ref) {
      if (env[ref.env] === undefined) {
        out.push({
          path: where,
          message: `environment variable ${ref.env} is not set`,
          zh: `环境变量 ${ref.env} 未设置`,
          fix: { zh: `在服务的 Environment=/EnvironmentFile= 中设置 ${ref.env}，或改用 { file: 路径 }`, en: `set ${ref.env} in the unit's Environment=/EnvironmentFile=, or use { file: PATH }` },
        });
      }
      continue;
    }
    const file = path.resolve(ref.file);
    try {
      fs.accessSync(file, fs.constants.R_OK);
      if (!fs.statSync(file).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? { zh: '文件不存在', en: 'does not exist' }
          : code === 'EACCES'
            ? { zh: '没有读权限', en: 'cannot be read (permission denied)' }
            : { zh: '无法读取', en: `cannot be read (${code ?? 'error'})` };
      out.push({
        path: where,
        message: `secret file ${file} ${why.en}`,
        zh: `密码文件 ${file} ${why.zh}`,
        fix: {
          zh: `创建它（一行，只含密码）：install -m 600 -o ${SERVICE_USER} /dev/null ${file}，再写入`,
          en: `create it (one line, the secret only): install -m 600 -o ${SERVICE_USER} /dev/null ${file}, then write it`,
        },
      });
      continue;
    }
    if (user && !userCanRead(file, user)) {
      out.push({
        path: where,
        message: `secret file ${file} cannot be read by the service user ${user.name}`,
        zh: `服务用户 ${user.name} 读不到密码文件 ${file}`,
        fix: { zh: `chown ${user.name} ${file} && chmod 600 ${file}（并确保上级目录可进入）`, en: `chown ${user.name} ${file} && chmod 600 ${file} (and make its folders enterable)` },
      });
    }
  }
  return out;
}

type Ref = { file: string } | { env: string };

function secretRefs(doc: unknown, at: PropertyKey[] = []): { at: PropertyKey[]; ref: Ref }[] {
  if (!doc || typeof doc !== 'object') return [];
  if (Array.isArray(doc)) return doc.flatMap((v, i) => secretRefs(v, [...at, i]));
  const o = doc as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && (keys[0] === 'file' || keys[0] === 'env') && typeof o[keys[0]] === 'string' && o[keys[0]]) {
    // a { file } that is not a secret (tls.ca is a plain path string, never this shape)
    return [{ at, ref: o as Ref }];
  }
  return keys.flatMap((k) => secretRefs(o[k], [...at, k]));
}

interface User {
  name: string;
  uid: number;
  gids: number[];
}

/** A local user from /etc/passwd and /etc/group, or undefined when there is none. */
export function lookupUser(name: string, etc = '/etc'): User | undefined {
  let passwd: string;
  try {
    passwd = fs.readFileSync(path.join(etc, 'passwd'), 'utf8');
  } catch {
    return undefined;
  }
  const line = passwd
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === name);
  if (!line) return undefined;
  const gids = [Number(line[3])];
  try {
    for (const g of fs.readFileSync(path.join(etc, 'group'), 'utf8').split('\n')) {
      const f = g.split(':');
      if (f.length >= 4 && f[3].split(',').includes(name)) gids.push(Number(f[2]));
    }
  } catch {
    // no supplementary groups known
  }
  return { name, uid: Number(line[2]), gids };
}

/** Whether a user can read a file by its mode bits: read on the file, search on every folder above it. */
export function userCanRead(file: string, u: User): boolean {
  if (u.uid === 0) return true;
  const may = (p: string, bit: 4 | 1) => {
    const s = fs.statSync(p);
    const shift = s.uid === u.uid ? 6 : u.gids.includes(s.gid) ? 3 : 0;
    return ((s.mode >> shift) & bit) !== 0;
  };
  try {
    if (!may(file, 4)) return false;
    for (let d = path.dirname(file); ; d = path.dirname(d)) {
      if (!may(d, 1)) return false;
      if (d === path.dirname(d)) return true;
    }
  } catch {
    return false;
  }
}
