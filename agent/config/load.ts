import fs from 'node:fs';
import path from 'node:path';
import YAML, { LineCounter } from 'yaml';
import { InputError, type InputIssue } from '../core/errors.js';
import { noteSecret } from '../core/secret-audit.js';
import { applyAliases, CONFIG_ALIASES, logWarnings } from './legacy.js';
import { secretIssues } from './secrets.js';
import { semanticIssues } from './semantic.js';
import { translateZodIssues } from './zod-issues.js';
import { configSchema, type Config, type SecretRef } from './schema.js';

export interface LoadOptions {
  /** also check every secret reference (files readable, variables set): `config check` and `run` */
  secrets?: boolean;
  /** with secrets: the user whose access to secret files is checked too (the installed service's) */
  serviceUser?: string;
  /** collects warnings (old key names still read); without it they are logged */
  warnings?: InputIssue[];
}

/**
 * Load and validate the config file. Every problem is reported at once, each with its path, its
 * line, what is wrong and the fix in both languages: the schema's (unknown keys with "did you
 * mean", ranges, types), and what the schema cannot see (zones, duplicate ids, profile, MQTT URL
 * and topic prefix, discovery ranges, plaintext passwords; secrets on request). No file means
 * embedded defaults (the demo).
 */
export function loadConfig(file?: string, o: LoadOptions = {}): Config {
  let doc: unknown = {};
  let lines: ((p: PropertyKey[]) => number | undefined) | undefined;
  const source = file ?? 'embedded defaults';
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new InputError(file, [
        {
          path: '',
          message: `cannot read the config file (${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'error')})`,
          zh: `读不到配置文件（${code === 'ENOENT' ? '文件不存在' : code === 'EACCES' ? '没有读权限' : (code ?? '错误')}）`,
          fix: { zh: '检查 --config 的路径；可从 config/agent.example.yaml 复制一份', en: 'check the --config path; config/agent.example.yaml is a starting point' },
        },
      ]);
    }
    const counter = new LineCounter();
    const parsed = YAML.parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
    if (parsed.errors.length) {
      throw new InputError(
        file,
        parsed.errors.map((e) => ({
          path: '',
          line: counter.linePos(e.pos[0]).line,
          message: `not valid YAML (${e.code})`,
          zh: `YAML 格式错误（${e.code}）`,
          fix:
            e.code === 'DUPLICATE_KEY'
              ? { zh: '同一项写了两次：删掉一个', en: 'a key is written twice: remove one' }
              : { zh: '检查这一行的缩进（用空格，不用 Tab）、冒号后的空格和引号是否成对', en: 'check this line: indentation (spaces, not tabs), a space after each colon, matching quotes' },
        })),
      );
    }
    doc = parsed.toJS() ?? {};
    lines = (p) => {
      for (let n = p.length; n >= 0; n--) {
        const node = parsed.getIn(p.slice(0, n), true) as { range?: [number, number, number] } | undefined;
        if (node?.range) return counter.linePos(node.range[0]).line;
      }
      return undefined;
    };
  }
  const renamed = applyAliases(doc, CONFIG_ALIASES);
  if (lines) for (const i of [...renamed.warnings, ...renamed.errors]) i.line ??= lines(parsePath(i.path));
  if (o.warnings) o.warnings.push(...renamed.warnings);
  else logWarnings(source, renamed.warnings);
  const r = configSchema.safeParse(doc, { reportInput: true });
  const issues = r.success ? [...renamed.errors] : [...renamed.errors, ...translateZodIssues(r.error, (p) => keysAt(configSchema, p))];
  issues.push(...semanticIssues(doc));
  if (o.secrets) issues.push(...secretIssues(doc, { serviceUser: o.serviceUser }));
  if (issues.length || !r.success) {
    if (lines) for (const i of issues) i.line ??= lines(parsePath(i.path));
    // in file order, as the technician reads the file
    issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new InputError(source, issues);
  }
  return r.data;
}

/** `cameras[1].rtspUrl` back into ['cameras', 1, 'rtspUrl'] (to find its line). */
function parsePath(p: string): PropertyKey[] {
  return [...p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]));
}

/** The keys the schema allows in the object at a path (for "did you mean"). */
function keysAt(schema: unknown, p: PropertyKey[]): string[] {
  let s = schema as { _zod?: { def: Record<string, unknown> } } | undefined;
  const unwrap = () => {
    while (s?._zod && ['default', 'optional', 'nullable', 'prefault', 'pipe'].includes(s._zod.def.type as string)) {
      s = (s._zod.def.innerType ?? s._zod.def.in) as typeof s;
    }
  };
  unwrap();
  for (const k of p) {
    const def = s?._zod?.def;
    if (!def) return [];
    s = (typeof k === 'number' && def.type === 'array' ? def.element : def.type === 'object' ? (def.shape as Record<string, unknown>)[String(k)] : undefined) as typeof s;
    unwrap();
  }
  const def = s?._zod?.def;
  return def?.type === 'object' ? Object.keys(def.shape as object) : [];
}

export function statePaths(cfg: Config) {
  const state = path.resolve(cfg.paths.state);
  return {
    state,
    video: path.resolve(cfg.paths.video ?? path.join(state, 'video')),
    database: path.resolve(cfg.paths.database ?? path.join(state, 'evidence.db')),
  };
}

/**
 * Resolve a secret at the moment it is needed. Files are trimmed of a trailing newline (as
 * written by `echo`); a missing env var or file is an error naming the config path.
 */
export function resolveSecret(ref: SecretRef | undefined, where: string): string | undefined {
  if (ref === undefined) return undefined;
  const v = readSecret(ref, where);
  noteSecret(v);
  return v;
}

function readSecret(ref: SecretRef, where: string): string {
  if (typeof ref === 'string') return ref;
  if ('env' in ref) {
    const v = process.env[ref.env];
    if (v === undefined) {
      throw new InputError('config', [
        {
          path: where,
          message: `environment variable ${ref.env} is not set`,
          zh: `环境变量 ${ref.env} 未设置`,
          fix: { zh: `在服务的 Environment=/EnvironmentFile= 中设置 ${ref.env}，或改用 { file: 路径 }`, en: `set ${ref.env} in the unit's Environment=/EnvironmentFile=, or use { file: PATH }` },
        },
      ]);
    }
    return v;
  }
  try {
    return fs.readFileSync(ref.file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new InputError('config', [
      {
        path: where,
        message: `cannot read secret file ${ref.file} (${code})`,
        zh: `读不到密码文件 ${ref.file}（${code}）`,
        fix: {
          zh: '确认文件存在，且服务用户 classroom-agent 可读（chmod 600，属主为该用户）',
          en: 'make sure the file exists and the service user classroom-agent can read it (mode 600, owned by that user)',
        },
      },
    ]);
  }
}
