import { offsetAt } from '../zone.js';
import { classifyDahua, DAHUA_STREAM_CODES } from '../codes.js';
import { decodeText } from '../text.js';
import type { CheckIn, Parsed, Reject, TerminalEvent } from '../types.js';

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);
const str = (x: unknown) => (typeof x === 'string' ? x : typeof x === 'number' ? String(x) : '');
const PERSON = /^[A-Za-z0-9._-]{1,32}$/;
/** event codes the attach stream is asked for (their meanings: codes.ts) */
export const DAHUA_CODES = DAHUA_STREAM_CODES;
const isEvent = (x: unknown): x is TerminalEvent => !!x && typeof x === 'object' && 'kind' in x;

/**
 * One access record (attach-stream `data`, or a recordFinder record) → CheckIn when the code and
 * its Status mean a pass (codes.ts), a TerminalEvent (kept, not counted) for a refusal or an
 * unknown code, null without a person, or a problem.
 * Identity: terminal + person + the device's UTC second. RecNo is only the counter: a live
 * event may come without it and the same event comes with it from recordFinder after a
 * reconnect, so a key on RecNo counted that punch twice.
 */
export function dahuaRecord(terminal: string, tz: string, code: string, d: Obj, receivedMs: number): CheckIn | TerminalEvent | null | string {
  const person = str(d.UserID);
  const utc = typeof d.UTC === 'number' ? d.UTC : typeof d.CreateTime === 'number' ? d.CreateTime : Number(str(d.UTC) || str(d.CreateTime));
  // _DoorFace_ pulses carry no time: the moment we received them (live stream) stands in
  const at = Number.isFinite(utc) && utc > 0 ? utc * 1000 : code === '_DoorFace_' ? Math.floor(receivedMs / 1000) * 1000 : NaN;
  const name = typeof d.CardName === 'string' && d.CardName.trim() ? d.CardName.trim().slice(0, 64) : null;
  const v = classifyDahua(code, d.Status);
  if (v.kind !== 'pass') {
    if (!person && v.kind === 'not-a-pass') return null;
    return { kind: v.kind, terminal, code: v.code, meaning: v.kind === 'unknown-code' ? null : `${v.meaning.zh} / ${v.meaning.en}`, person: person || null, name, at: Number.isFinite(at) ? at : null };
  }
  if (!person) return null;
  if (!PERSON.test(person)) return 'UserID: 1-32 letters or digits';
  if (!Number.isFinite(at)) return 'UTC: missing or not a number';
  const rec = str(d.RecNo);
  const method = str(d.Method ?? d.OpenDoorMethod);
  return {
    protocol: 'dahua',
    terminal,
    person,
    at,
    tzOffsetMin: offsetAt(at, tz),
    verifyMode: method || null,
    similarity: typeof d.Similarity === 'number' ? d.Similarity : null,
    dedupKey: `dahua:${terminal}:${person}:${Math.floor(at / 1000)}`,
    counter: rec && /^\d+$/.test(rec) ? rec : null,
    name,
    code: v.code,
  };
}

const SEGMENT = /^Code=([^;]*);action=([^;]*);index=([^;\r\n]*)(?:;data=([\s\S]*))?$/;

/**
 * An attach-stream part: one or more `Code=<Code>;action=<Start|Stop|Pulse>;index=<n>;data={json}`
 * (data may be pretty-printed over many lines), or `Heartbeat`.
 */
export function parseDahuaPart(body: Buffer, terminal: string, tz: string, receivedMs: number): Parsed {
  const s = decodeText(body).trim();
  if (s === 'Heartbeat') return { checkins: [], rejects: [], ignored: true, heartbeat: true };
  const segs = s.split(/\r?\n(?=Code=)/);
  const checkins: CheckIn[] = [];
  const events: TerminalEvent[] = [];
  const rejects: Reject[] = [];
  let any = false;
  segs.forEach((seg, i) => {
    const m = SEGMENT.exec(seg.trim());
    if (!m) return rejects.push({ where: `event ${i + 1}`, message: 'not "Code=...;action=...;index=...[;data={...}]"' });
    any = true;
    const [, code, action] = m;
    if (action !== 'Pulse' && action !== 'Start') return;
    let data: unknown;
    try {
      data = JSON.parse(m[4] ?? '');
    } catch {
      return rejects.push({ where: `event ${i + 1}.data`, message: 'not JSON' });
    }
    if (!isObj(data)) return rejects.push({ where: `event ${i + 1}.data`, message: 'not an object' });
    const c = dahuaRecord(terminal, tz, code, data, receivedMs);
    if (typeof c === 'string') rejects.push({ where: `event ${i + 1}.data`, message: c });
    else if (isEvent(c)) events.push(c);
    else if (c) checkins.push(c);
  });
  if (!any && rejects.length) throw new Error(rejects[0].message);
  return { checkins, rejects, events, ignored: !checkins.length && !rejects.length && !events.length };
}

/**
 * recordFinder.cgi?action=find&name=AccessControlCardRec reply: `found=N` then
 * `records[i].Key=Value` lines → check-ins (catch-up after an outage).
 */
export function parseRecordFinder(body: Buffer, terminal: string, tz: string, receivedMs: number): Parsed & { found: number; lastTime: number } {
  const recs = new Map<number, Obj>();
  let found = -1;
  for (const line of decodeText(body).split(/\r?\n/)) {
    const f = /^found=(\d+)$/.exec(line.trim());
    if (f) found = Number(f[1]);
    const m = /^records\[(\d+)\]\.(\w+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    const r = recs.get(Number(m[1])) ?? {};
    r[m[2]] = /^-?\d+$/.test(m[3]) && m[2] !== 'UserID' && m[2] !== 'CardNo' ? Number(m[3]) : m[3];
    recs.set(Number(m[1]), r);
  }
  if (found < 0) throw new Error('no "found=" in the recordFinder reply');
  const checkins: CheckIn[] = [];
  const events: TerminalEvent[] = [];
  const rejects: Reject[] = [];
  let lastTime = 0;
  for (const [i, r] of [...recs.entries()].sort((a, b) => a[0] - b[0])) {
    const c = dahuaRecord(terminal, tz, 'AccessControl', r, receivedMs);
    if (typeof r.CreateTime === 'number') lastTime = Math.max(lastTime, r.CreateTime);
    if (typeof c === 'string') rejects.push({ where: `records[${i}]`, message: c });
    else if (isEvent(c)) events.push(c);
    else if (c) checkins.push(c);
  }
  return { checkins, rejects, events, ignored: !checkins.length && !rejects.length && !events.length, found, lastTime };
}
