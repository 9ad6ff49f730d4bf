/**
 * What each vendor's event codes mean, and which of them are a check-in: "this person was
 * verified here". Only a code listed here as `pass` counts; a failure, a door event, or a code
 * not in the table is kept (raw input + a terminal_events row) and reported, never counted.
 * Sources are public vendor documents; docs/checkin.md renders the same tables with links.
 */

export interface CodeMeaning {
  /** true = a verified pass (counts as a check-in); false = known, not a check-in */
  pass: boolean;
  zh: string;
  en: string;
}

/** A verdict on one event: counted, known-not-a-pass, or unknown. */
export type Verdict = { kind: 'pass'; code: string; meaning: CodeMeaning } | { kind: 'not-a-pass'; code: string; meaning: CodeMeaning } | { kind: 'unknown-code'; code: string };

const m = (pass: boolean, zh: string, en: string): CodeMeaning => ({ pass, zh, en });

/**
 * Hikvision access control, major type 5 (MAJOR_EVENT) minor types.
 * Source: Hikvision Device Network SDK manual, NET_DVR_ACS_ALARM_INFO (dwMajor/dwMinor remarks),
 * https://open.hikvision.com/hardware/structures/NET_DVR_ACS_ALARM_INFO.html ; the same values
 * are the `majorEventType`/`subEventType` of ISAPI AccessControllerEvent and `major`/`minor` of
 * an AcsEvent search (ISAPI reuses the SDK's event table).
 */
export const HIK_MAJOR_EVENT = 5;
export const HIK_MINOR: Readonly<Record<number, CodeMeaning>> = {
  0x01: m(true, '合法卡认证通过', 'valid card: passed'),
  0x02: m(true, '刷卡加密码认证通过', 'card + password: passed'),
  0x03: m(false, '刷卡加密码认证失败', 'card + password: failed'),
  0x04: m(false, '刷卡加密码认证超时', 'card + password: timed out'),
  0x06: m(false, '未分配权限', 'no permission'),
  0x07: m(false, '无效时段', 'outside the valid period'),
  0x08: m(false, '卡号过期', 'card expired'),
  0x09: m(false, '无此卡号', 'no such card'),
  0x15: m(false, '门锁打开', 'door unlocked'),
  0x16: m(false, '门锁关闭', 'door locked'),
  0x17: m(false, '开门按钮打开', 'exit button pressed'),
  0x18: m(false, '开门按钮放开', 'exit button released'),
  0x19: m(false, '正常开门（门磁）', 'door opened (contact)'),
  0x1a: m(false, '正常关门（门磁）', 'door closed (contact)'),
  0x1b: m(false, '门异常打开（门磁）', 'door opened abnormally'),
  0x1c: m(false, '门打开超时（门磁）', 'door open too long'),
  0x26: m(true, '指纹比对通过', 'fingerprint: passed'),
  0x27: m(false, '指纹比对失败', 'fingerprint: failed'),
  0x28: m(true, '刷卡加指纹认证通过', 'card + fingerprint: passed'),
  0x29: m(false, '刷卡加指纹认证失败', 'card + fingerprint: failed'),
  0x2e: m(true, '指纹加密码认证通过', 'fingerprint + password: passed'),
  0x2f: m(false, '指纹加密码认证失败', 'fingerprint + password: failed'),
  0x31: m(false, '指纹不存在', 'fingerprint not enrolled'),
  0x36: m(true, '人脸加指纹认证通过', 'face + fingerprint: passed'),
  0x37: m(false, '人脸加指纹认证失败', 'face + fingerprint: failed'),
  0x39: m(true, '人脸加密码认证通过', 'face + password: passed'),
  0x3a: m(false, '人脸加密码认证失败', 'face + password: failed'),
  0x3c: m(true, '人脸加刷卡认证通过', 'face + card: passed'),
  0x3d: m(false, '人脸加刷卡认证失败', 'face + card: failed'),
  0x3f: m(true, '人脸加密码加指纹认证通过', 'face + password + fingerprint: passed'),
  0x40: m(false, '人脸加密码加指纹认证失败', 'face + password + fingerprint: failed'),
  0x42: m(true, '人脸加刷卡加指纹认证通过', 'face + card + fingerprint: passed'),
  0x43: m(false, '人脸加刷卡加指纹认证失败', 'face + card + fingerprint: failed'),
  0x45: m(true, '工号加指纹认证通过', 'employee no. + fingerprint: passed'),
  0x46: m(false, '工号加指纹认证失败', 'employee no. + fingerprint: failed'),
  0x48: m(true, '工号加指纹加密码认证通过', 'employee no. + fingerprint + password: passed'),
  0x49: m(false, '工号加指纹加密码认证失败', 'employee no. + fingerprint + password: failed'),
  0x4b: m(true, '人脸认证通过', 'face: passed'),
  0x4c: m(false, '人脸认证失败', 'face: failed'),
  0x4d: m(true, '工号加人脸认证通过', 'employee no. + face: passed'),
  0x4e: m(false, '工号加人脸认证失败', 'employee no. + face: failed'),
  0x4f: m(false, '工号加人脸认证超时', 'employee no. + face: timed out'),
  0x50: m(false, '人脸识别失败', 'face not recognised'),
  0x65: m(true, '工号加密码认证通过', 'employee no. + password: passed'),
  0x66: m(false, '工号加密码认证失败', 'employee no. + password: failed'),
  0x68: m(false, '真人检测失败', 'liveness check failed'),
  0x69: m(true, '人证比对通过', 'person vs. ID card: passed'),
  0x70: m(false, '人证比对失败', 'person vs. ID card: failed'),
  0x71: m(false, '黑名单事件', 'block list'),
  0x75: m(false, '门状态常闭或休眠状态认证失败', 'refused: door closed or dormant'),
  0x76: m(false, '认证计划休眠模式认证失败', 'refused: plan dormant'),
  0x97: m(false, '密码不匹配', 'password mismatch'),
  0x98: m(false, '工号不存在', 'employee no. does not exist'),
  0x99: m(true, '组合认证通过', 'combined verification: passed'),
  0x9a: m(false, '组合认证超时', 'combined verification: timed out'),
  0x9b: m(false, '认证方式不匹配', 'verify mode mismatch'),
};

/** The other major types of the same manual: whole categories that are never a person passing. */
export const HIK_MAJOR_OTHER: Readonly<Record<number, CodeMeaning>> = {
  1: m(false, '报警', 'alarm'),
  2: m(false, '异常', 'exception'),
  3: m(false, '操作', 'operation'),
  4: m(false, '附加信息', 'additional information'),
};

export function classifyHik(major: unknown, minor: unknown): Verdict {
  const code = `${major ?? '?'}/${minor ?? '?'}`;
  if (typeof major !== 'number' || typeof minor !== 'number') return { kind: 'unknown-code', code };
  if (HIK_MAJOR_OTHER[major]) return { kind: 'not-a-pass', code, meaning: HIK_MAJOR_OTHER[major] };
  if (major !== HIK_MAJOR_EVENT) return { kind: 'unknown-code', code };
  const meaning = HIK_MINOR[minor];
  if (!meaning) return { kind: 'unknown-code', code };
  return meaning.pass ? { kind: 'pass', code, meaning } : { kind: 'not-a-pass', code, meaning };
}

/**
 * Dahua event codes on the eventManager attach stream and the AccessControlCardRec record, and
 * the `Status` of an access event. Sources: Dahua HTTP API for access control (eventManager.cgi
 * attach, recordFinder.cgi AccessControlCardRec: Status 1 = success, 0 = failure), captures in
 * https://github.com/rroller/dahua/issues/221 (AccessControl data with Status/ErrorCode) and
 * https://github.com/rroller/dahua/issues/296 (`_DoorFace_` of a face terminal that opened the door).
 */
export const DAHUA_CODE: Readonly<Record<string, CodeMeaning>> = {
  'AccessControl/1': m(true, '门禁事件：开门成功（Status=1）', 'access event: door opened (Status=1)'),
  'AccessControl/0': m(false, '门禁事件：开门失败（Status=0）', 'access event: refused (Status=0)'),
  _DoorFace_: m(true, '人脸比对成功开门', 'face matched, door opened'),
};

/** codes the attach stream is asked for */
export const DAHUA_STREAM_CODES = ['AccessControl', '_DoorFace_'];

export function classifyDahua(code: string, status: unknown): Verdict {
  const key = code === 'AccessControl' ? `AccessControl/${status === undefined || status === null || status === '' ? '?' : String(status)}` : code;
  const meaning = DAHUA_CODE[key];
  if (!meaning) return { kind: 'unknown-code', code: key };
  return meaning.pass ? { kind: 'pass', code: key, meaning } : { kind: 'not-a-pass', code: key, meaning };
}

/**
 * ZKTeco ATTLOG: a row is written only for a verified punch (the terminal refuses a failed
 * match on screen and logs nothing), so every row is a pass; status and verify type describe
 * it. Sources: ZKTeco "Attendance PUSH Communication Protocol" (ATTLOG fields PIN, time,
 * status, verify, workcode), https://github.com/LuisTorr35/zk-push-server
 * src/protocol/iclock/attlog.parser.ts. Verify-type numbers conflict between firmware
 * (BioMax 15 = face, eSSL 15 = card): kept raw, never used to decide whether a row counts.
 */
export const ZK_STATUS: Readonly<Record<string, CodeMeaning>> = {
  '0': m(true, '上班签到', 'check-in'),
  '1': m(true, '下班签退', 'check-out'),
  '2': m(true, '外出', 'break-out'),
  '3': m(true, '外出返回', 'break-in'),
  '4': m(true, '加班签到', 'overtime in'),
  '5': m(true, '加班签退', 'overtime out'),
};
export const ZK_VERIFY: Readonly<Record<string, { zh: string; en: string }>> = {
  '0': { zh: '密码', en: 'password' },
  '1': { zh: '指纹', en: 'fingerprint' },
  '2': { zh: '卡', en: 'card' },
  '15': { zh: '人脸（BioMax 等；eSSL 为卡）', en: 'face (BioMax and others; card on eSSL)' },
};

export function classifyZk(status: string): Verdict {
  // an empty status (short rows on old firmware) is a punch with no in/out meaning
  const meaning = status === '' ? m(true, '签到（无状态）', 'punch (no status)') : ZK_STATUS[status];
  const code = `status ${status || '-'}`;
  if (!meaning) return { kind: 'unknown-code', code };
  return meaning.pass ? { kind: 'pass', code, meaning } : { kind: 'not-a-pass', code, meaning };
}
