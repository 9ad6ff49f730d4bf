import { expandRanges } from '../cameras/ranges.js';
import { InputError, type InputIssue } from '../core/errors.js';
import { listProfiles, loadProfile } from './profile.js';
import { closest } from './suggest.js';

/**
 * What the schema cannot say about one field alone: zones that exist, ids that are unique, URLs
 * that mqtt.js will really connect to, a profile that exists. Works on the raw parsed document
 * (not the validated config), so that these mistakes are listed in the same pass as the schema's
 * even when the schema has refused the file.
 */
export function semanticIssues(doc: unknown): InputIssue[] {
  const out: InputIssue[] = [];
  const d = obj(doc);
  const box = obj(d.box);
  zone(out, 'box.timezone', box.timezone);
  const cameras = list(d.cameras);
  const terminals = list(d.terminals);
  terminals.forEach((t, i) => zone(out, `terminals[${i}].timezone`, obj(t).timezone));
  duplicates(out, 'cameras', cameras, 'id', { zh: '摄像头', en: 'camera' });
  duplicates(out, 'terminals', terminals, 'id', { zh: '考勤机', en: 'terminal' });
  duplicates(out, 'terminals', terminals, 'serial', { zh: '考勤机', en: 'terminal' });
  profile(out, d.profile);
  ranges(out, obj(d.discovery).ranges);
  mqtt(out, obj(d.sync));
  return out;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

let zones: string[] | undefined;
function zone(out: InputIssue[], path: string, v: unknown): void {
  if (typeof v !== 'string') return;
  try {
    new Intl.DateTimeFormat('en', { timeZone: v });
    return;
  } catch {
    // not a zone this Node knows (its ICU data is the IANA database)
  }
  zones ??= Intl.supportedValuesOf('timeZone');
  const near = closest(v, zones);
  out.push({
    path,
    message: `unknown time zone "${v}"${near ? `; did you mean "${near}"?` : ''}`,
    zh: `未知时区 "${v}"${near ? `；是不是 "${near}"？` : ''}`,
    fix: { zh: `写 IANA 时区名，例如 ${near ?? 'Asia/Shanghai'}`, en: `use an IANA zone name, e.g. ${near ?? 'Asia/Shanghai'}` },
  });
}

function duplicates(out: InputIssue[], where: string, items: unknown[], key: string, what: { zh: string; en: string }): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const v = obj(item)[key];
    if (v === undefined || v === null) return;
    const k = String(v);
    const first = seen.get(k);
    if (first === undefined) return void seen.set(k, i);
    out.push({
      path: `${where}[${i}].${key}`,
      message: `${what.en} ${key} "${k}" is already used by ${where}[${first}]`,
      zh: `${what.zh}的 ${key} "${k}" 已被 ${where}[${first}] 使用`,
      fix: { zh: `每个${what.zh}的 ${key} 必须唯一：改一个，或删掉重复的那项`, en: `each ${what.en}'s ${key} must be unique: change one, or remove the duplicate` },
    });
  });
}

function profile(out: InputIssue[], v: unknown): void {
  if (v !== undefined && typeof v !== 'string') return; // the schema says it
  const id = (v as string | undefined) ?? 'henan-2025';
  try {
    loadProfile(id);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    const known = listProfiles();
    const unknown = err.source === 'profile';
    const near = unknown ? closest(id, known) : undefined;
    if (unknown) {
      out.push({
        path: 'profile',
        message: `unknown rule profile "${id}"${near ? `; did you mean "${near}"?` : ''} (known: ${known.join(', ') || 'none'})`,
        zh: `未知的规则配置 "${id}"${near ? `；是不是 "${near}"？` : ''}（已有：${known.join('、') || '无'}）`,
        fix: {
          zh: `profile 改为 ${near ?? known[0] ?? 'henan-2025'}，或把规则文件放进 config/profiles/`,
          en: `set profile to ${near ?? known[0] ?? 'henan-2025'}, or put the profile file in config/profiles/`,
        },
      });
    } else {
      for (const i of err.issues)
        out.push({
          ...i,
          path: `profile (${err.source}) ${i.path}`,
          fix: i.fix ?? { zh: '修改规则文件，或换用 config/profiles/ 中的其他规则', en: 'fix the profile file, or use another one from config/profiles/' },
        });
    }
  }
}

function ranges(out: InputIssue[], v: unknown): void {
  const rs = list(v).filter((r): r is string => typeof r === 'string');
  if (!rs.length) return;
  try {
    expandRanges(rs);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    for (const i of err.issues) {
      out.push({
        ...i,
        zh: `探测地址段无效：${i.message
          .replace(/^not an address or range: ("[^"]*").*$/, '不是地址或地址段：$1')
          .replace(/^range ends before it starts: (.*)$/, '地址段终点在起点之前：$1')
          .replace(/^more than (\d+) addresses.*$/, '超过 $1 个地址')}`,
        fix: { zh: '写成 192.168.1.10、192.168.1.1-254 或 192.168.1.0/24，总数不超过 4096 个地址', en: 'write 192.168.1.10, 192.168.1.1-254 or 192.168.1.0/24, at most 4096 addresses in all' },
      });
    }
  }
}

/** The schemes mqtt.js connects with; the TLS ones carry a password safely. */
const MQTT_SCHEMES = ['mqtt', 'mqtts', 'tcp', 'tls', 'ssl', 'ws', 'wss'];
const TLS_SCHEMES = new Set(['mqtts', 'tls', 'ssl', 'wss']);

function mqtt(out: InputIssue[], sync: Obj): void {
  const url = sync.url;
  let scheme: string | undefined;
  if (typeof url === 'string') {
    const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/.exec(url);
    const example = `mqtts://${url.replace(/^[A-Za-z][A-Za-z0-9+.-]*:?\/\/?/, '') || 'broker.example.cn:8883'}`;
    if (!m) {
      out.push({
        path: 'sync.url',
        message: `"${url}" has no scheme (mqtt.js then speaks nothing the broker understands)`,
        zh: `"${url}" 缺少协议头（如 mqtts://），连接会一直失败`,
        fix: { zh: `写成 ${example}（TLS）或 mqtt://…`, en: `write ${example} (TLS) or mqtt://…` },
      });
    } else {
      scheme = m[1].toLowerCase();
      if (!MQTT_SCHEMES.includes(scheme)) {
        const near = closest(scheme, MQTT_SCHEMES);
        out.push({
          path: 'sync.url',
          message: `unknown scheme "${m[1]}://"${near ? `; did you mean "${near}://"?` : ''}`,
          zh: `未知协议 "${m[1]}://"${near ? `；是不是 "${near}://"？` : ''}`,
          fix: { zh: `使用 ${MQTT_SCHEMES.map((s) => `${s}://`).join('、')} 之一`, en: `use one of ${MQTT_SCHEMES.map((s) => `${s}://`).join(', ')}` },
        });
        scheme = undefined;
      } else if (!m[2] || /@/.test(m[2])) {
        out.push({
          path: 'sync.url',
          message: m[2] ? 'credentials in the URL are not allowed' : 'no broker host',
          zh: m[2] ? '地址里不能带用户名密码' : '缺少代理主机名',
          fix: { zh: '写成 mqtts://主机:8883，用户名密码放 sync.username / sync.password', en: 'write mqtts://HOST:8883 and put the login in sync.username / sync.password' },
        });
      }
    }
  }
  const prefix = sync.topicPrefix;
  if (typeof prefix === 'string' && (/[+#\0]/.test(prefix) || prefix === '' || prefix.startsWith('/') || prefix.endsWith('/') || prefix.includes('//'))) {
    out.push({
      path: 'sync.topicPrefix',
      message: `"${prefix}" is not a topic prefix: MQTT wildcards + and #, empty levels and leading or trailing slashes make every publish fail`,
      zh: `"${prefix}" 不能做主题前缀：通配符 + 和 #、空层级、开头或结尾的 / 会让发布全部失败`,
      fix: { zh: '写成 classroom/v1 这样的形式，只用字母、数字、- 和 /', en: 'write it like classroom/v1: letters, digits, - and /' },
    });
  }
  if (sync.password !== undefined && scheme && !TLS_SCHEMES.has(scheme) && sync.allowPlaintextPassword !== true) {
    out.push({
      path: 'sync.password',
      message: `a password over ${scheme}:// (no TLS) is readable by anyone on the network path`,
      zh: `在 ${scheme}://（无 TLS）上发送密码，途经网络的任何人都能读到`,
      fix: {
        zh: 'sync.url 改用 mqtts://（配 sync.tls），或确需明文时设 sync.allowPlaintextPassword: true',
        en: 'use mqtts:// for sync.url (with sync.tls), or set sync.allowPlaintextPassword: true if plain text is truly intended',
      },
    });
  }
}
