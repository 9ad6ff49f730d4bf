import type { z } from 'zod';
import { formatPath, type InputIssue } from '../core/errors.js';
import { closest } from './suggest.js';

/**
 * zod's issues said in both languages, each with a fix. zod's own messages are English and name
 * types ("Expected string, received number") that a technician cannot act on; this says what to
 * write instead. `keysAt` gives the known keys of the object at a path (for "did you mean").
 */
export function translateZodIssues(err: z.ZodError, keysAt: (path: PropertyKey[]) => string[]): InputIssue[] {
  return err.issues.flatMap((i) => translate(i as unknown as Raw, keysAt));
}

interface Raw {
  code: string;
  path: PropertyKey[];
  message: string;
  input?: unknown;
  expected?: string;
  origin?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  format?: string;
  pattern?: string;
  keys?: string[];
  values?: unknown[];
}

const TYPE_ZH: Record<string, string> = { string: '文字', number: '数字', boolean: 'true 或 false', object: '一组键值（key: value）', array: '列表（- 开头的行或 [a, b]）' };
const TYPE_EN: Record<string, string> = { string: 'text', number: 'a number', boolean: 'true or false', object: 'a mapping (key: value)', array: 'a list (lines starting with - or [a, b])' };
const SECRET_FIX = {
  zh: '密码/令牌写成 { file: /etc/classroom-agent/secrets/名字 }（推荐，权限 600）、{ env: 变量名 }，或加引号的字符串',
  en: 'write a secret as { file: /etc/classroom-agent/secrets/NAME } (preferred, mode 600), { env: VAR }, or a quoted string',
};

function describe(v: unknown): { zh: string; en: string } {
  if (v === null || v === undefined) return { zh: '空值', en: 'nothing (null)' };
  if (Array.isArray(v)) return { zh: '列表', en: 'a list' };
  if (typeof v === 'object') return { zh: '键值组', en: 'a mapping' };
  const s = JSON.stringify(v);
  return {
    zh: `${typeof v === 'number' ? '数字' : typeof v === 'boolean' ? '布尔值' : '文字'} ${s}`,
    en: `${typeof v === 'number' ? 'the number' : typeof v === 'boolean' ? 'the boolean' : 'the text'} ${s}`,
  };
}

/** The schema's own messages (refinements, patterns), said in both languages with their fix. */
export const SCHEMA_MESSAGES: Record<string, { zh: string; fix: { zh: string; en: string } }> = {
  'a camera needs onvif or rtspUrl': {
    zh: '摄像头需要 onvif 或 rtspUrl',
    fix: { zh: '加上 rtspUrl: rtsp://地址:554/路径，或 onvif: { host: 地址 }', en: 'add rtspUrl: rtsp://HOST:554/PATH or onvif: { host: HOST }' },
  },
  'stream: sub needs subRtspUrl or onvif': {
    zh: 'stream: sub 需要子码流地址：subRtspUrl，或 onvif（从摄像头询问第二个码流）；rtspUrl 的路径不属于已知厂商约定（海康 /Streaming/Channels/101、大华 subtype=0），无法推出子码流',
    fix: {
      zh: '加上 subRtspUrl: rtsp://地址:554/子码流路径（海康常为 /Streaming/Channels/102），或改回 stream: main',
      en: 'add subRtspUrl: rtsp://HOST:554/SUB_PATH (Hikvision: usually /Streaming/Channels/102), or set stream: main',
    },
  },
  'letters, digits, dot, dash, underscore; not starting with a dot or dash': {
    zh: '只能用字母、数字、. _ -，且不能以 . 或 - 开头（它会用作文件夹名）',
    fix: { zh: '改成例如 cam-1、box-01', en: 'use e.g. cam-1, box-01' },
  },
};

function translate(i: Raw, keysAt: (path: PropertyKey[]) => string[]): InputIssue[] {
  const path = formatPath(i.path);
  const issue = (message: string, zh: string, fix: { zh: string; en: string }): InputIssue => ({ path, message, zh, fix });
  switch (i.code) {
    case 'invalid_type': {
      const exp = i.expected ?? 'value';
      if (i.input === undefined) {
        return [issue(`missing: ${TYPE_EN[exp] ?? exp} is required here`, `缺少此项：这里需要${TYPE_ZH[exp] ?? exp}`, { zh: `补上 ${path}`, en: `add ${path}` })];
      }
      const got = describe(i.input);
      if (exp === 'string' && (typeof i.input === 'number' || typeof i.input === 'boolean')) {
        // why: YAML reads 0042 as the number 42 and on as... text is what was meant
        return [
          issue(`YAML reads this as ${got.en}, not as text (leading zeros are lost)`, `YAML 把它读成了${got.zh}，不是文字（开头的 0 会丢失）`, {
            zh: '给值加上引号，例如 id: "0042"',
            en: 'put the value in quotes, e.g. id: "0042"',
          }),
        ];
      }
      return [
        issue(`expected ${TYPE_EN[exp] ?? exp}, found ${got.en}`, `这里需要${TYPE_ZH[exp] ?? exp}，实际是${got.zh}`, {
          zh: `把 ${path} 改成${TYPE_ZH[exp] ?? exp}（各项写法见 config/agent.example.yaml）`,
          en: `make ${path} ${TYPE_EN[exp] ?? exp} (see config/agent.example.yaml)`,
        }),
      ];
    }
    case 'too_small':
    case 'too_big': {
      const small = i.code === 'too_small';
      const bound = String(small ? i.minimum : i.maximum);
      const incl = i.inclusive !== false;
      if (i.origin === 'string' || i.origin === 'array') {
        const unit = i.origin === 'string' ? { zh: '个字符', en: 'character(s)' } : { zh: '项', en: 'item(s)' };
        return [issue(`${small ? 'at least' : 'at most'} ${bound} ${unit.en}`, `${small ? '至少' : '最多'} ${bound} ${unit.zh}`, { zh: `修改 ${path} 的长度`, en: `change the length of ${path}` })];
      }
      const rel = small ? (incl ? '≥' : '>') : incl ? '≤' : '<';
      return [
        issue(`${JSON.stringify(i.input ?? '')} is out of range: must be ${rel} ${bound}`, `${JSON.stringify(i.input ?? '')} 超出范围：必须 ${rel} ${bound}`, {
          zh: `把 ${path} 改为 ${rel} ${bound} 的数`,
          en: `set ${path} to a number ${rel} ${bound}`,
        }),
      ];
    }
    case 'invalid_format': {
      if (i.format === 'url') {
        return [
          issue(`not a valid URL: ${JSON.stringify(i.input ?? '')}`, `不是有效的地址：${JSON.stringify(i.input ?? '')}`, {
            zh: '写成完整地址，例如 rtsp://192.168.1.64:554/Streaming/Channels/101（端口 1-65535）',
            en: 'write a full URL, e.g. rtsp://192.168.1.64:554/Streaming/Channels/101 (port 1-65535)',
          }),
        ];
      }
      const known = SCHEMA_MESSAGES[i.message];
      if (known) return [issue(`${JSON.stringify(i.input ?? '')}: ${i.message}`, `${JSON.stringify(i.input ?? '')}：${known.zh}`, known.fix)];
      return [issue(`${JSON.stringify(i.input ?? '')}: ${i.message}`, `${JSON.stringify(i.input ?? '')} 格式不对：${i.message}`, { zh: `按要求修改 ${path}`, en: `change ${path} as said` })];
    }
    case 'unrecognized_keys': {
      const known = keysAt(i.path);
      return (i.keys ?? []).map((k) => {
        const near = closest(k, known);
        const at = path ? `${path}.${k}` : k;
        return {
          path: at,
          message: `unknown key "${k}"${near ? `; did you mean "${near}"?` : ''}`,
          zh: `未知的配置项 "${k}"${near ? `；是不是 "${near}"？` : ''}`,
          fix: near
            ? { zh: `改为 ${near}`, en: `rename it to ${near}` }
            : { zh: `删除它；${path || '顶层'}可用的项：${known.join(', ')}`, en: `remove it; keys allowed in ${path || 'the top level'}: ${known.join(', ')}` },
        };
      });
    }
    case 'invalid_union': {
      if (typeof i.input === 'number' || typeof i.input === 'boolean') {
        return [
          issue(`YAML reads this as ${describe(i.input).en}, not as text`, `YAML 把它读成了${describe(i.input).zh}，不是文字`, {
            zh: '给值加上引号，例如 password: "012345"',
            en: 'put the value in quotes, e.g. password: "012345"',
          }),
        ];
      }
      return [issue('not a valid secret', '不是有效的密码/令牌写法', SECRET_FIX)];
    }
    case 'invalid_value': {
      const vals = (i.values ?? []).map((v) => JSON.stringify(v));
      const near = typeof i.input === 'string' ? closest(i.input, (i.values ?? []).map(String)) : undefined;
      return [
        issue(
          `${JSON.stringify(i.input ?? '')} is not one of ${vals.join(', ')}${near ? `; did you mean "${near}"?` : ''}`,
          `${JSON.stringify(i.input ?? '')} 不是可选值 ${vals.join('、')} 之一${near ? `；是不是 "${near}"？` : ''}`,
          { zh: `${path} 改为 ${near ?? vals.join(' / ')}`, en: `set ${path} to ${near ?? vals.join(' / ')}` },
        ),
      ];
    }
    default: {
      const known = SCHEMA_MESSAGES[i.message];
      if (known) return [issue(i.message, known.zh, known.fix)];
      return [issue(i.message, i.message, { zh: `按说明修改 ${path || '配置'}（见 config/agent.example.yaml）`, en: `fix ${path || 'the config'} as said (see config/agent.example.yaml)` })];
    }
  }
}
