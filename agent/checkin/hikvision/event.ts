import { isoOffsetMinutes, parseIsoStrict, parseLocalOrIso } from '../../core/time.js';
import { classifyHik } from '../codes.js';
import { decodeText } from '../text.js';
import { offsetAt } from '../zone.js';
import type { CheckIn, Parsed, TerminalEvent } from '../types.js';

const offsetMin = isoOffsetMinutes;

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);
const str = (x: unknown) => (typeof x === 'string' ? x : typeof x === 'number' ? String(x) : '');

const LOCAL_ISO = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$/;

/**
 * A Hikvision time: ISO 8601 with offset, or (some firmware) without one, then read in the
 * terminal's configured zone. Returns [utc ms, offset minutes] or undefined.
 */
export function hikTime(time: unknown, tz: string): [number, number] | undefined {
  const at = parseIsoStrict(time);
  if (at !== undefined) return [at, offsetMin(time as string) ?? offsetAt(at, tz)];
  if (typeof time !== 'string' || !LOCAL_ISO.test(time.trim())) return undefined;
  const local = parseLocalOrIso(time.trim(), tz);
  return local === undefined ? undefined : [local, offsetAt(local, tz)];
}

/**
 * One access-control record (an AccessControllerEvent of a push/stream, or an InfoList entry of
 * an AcsEvent search) → a CheckIn when its major/minor type is a verified pass in the vendor's
 * table (codes.ts); a TerminalEvent (kept, not counted) for a failed check, a door event or an
 * unknown code that names a person; null for device events without a person; a string for a
 * record that cannot be read.
 * Identity: terminal + person + the second the device stamped. The serialNo is kept as counter
 * (it restarts after a device swap or log reset, so it is never the identity alone).
 */
export function acsRecord(terminal: string, tz: string, r: Obj, time: unknown): CheckIn | TerminalEvent | null | string {
  const person = str(r.employeeNoString) || str(r.employeeNo);
  const mode = str(r.currentVerifyMode);
  const major = r.majorEventType ?? r.major;
  const minor = r.subEventType ?? r.minor;
  const v = classifyHik(major, minor);
  const name = typeof r.name === 'string' && r.name.trim() ? r.name.trim().slice(0, 64) : null;
  const t = hikTime(time, tz);
  if (v.kind !== 'pass' || !person || mode === 'invalid') {
    if (!person && v.kind !== 'unknown-code') return null; // door, alarm, device events: nothing about a person
    const meaning = v.kind === 'unknown-code' ? null : `${v.meaning.zh} / ${v.meaning.en}`;
    return {
      kind: v.kind === 'pass' ? 'not-a-pass' : v.kind,
      terminal,
      code: v.code,
      meaning: v.kind === 'pass' ? `${meaning} (verify mode invalid)` : meaning,
      person: person || null,
      name,
      at: t?.[0] ?? null,
    };
  }
  if (!/^[A-Za-z0-9._-]{1,32}$/.test(person)) return 'employeeNo: 1-32 letters or digits';
  if (!t) return 'dateTime: not ISO 8601 ("2026-10-04T08:30:00+08:00", or without offset in the terminal\'s zone)';
  const [at, off] = t;
  const serial = r.serialNo;
  const counter = typeof serial === 'number' && Number.isInteger(serial) && serial >= 0 ? String(serial) : null;
  const sim = typeof r.similarity === 'number' ? r.similarity : null;
  return {
    protocol: 'hikvision',
    terminal,
    person,
    at,
    tzOffsetMin: off,
    verifyMode: mode || null,
    similarity: sim,
    dedupKey: `hik:${terminal}:${person}:${Math.floor(at / 1000)}`,
    counter,
    name,
    code: v.code,
  };
}

const isEvent = (x: unknown): x is TerminalEvent => !!x && typeof x === 'object' && 'kind' in x;

/** Is this alertStream part only a keep-alive (XML videoloss inactive, JSON heartBeat)? */
export function isHeartbeat(body: Buffer): boolean {
  if (body.length > 2048) return false;
  const s = body.toString('utf8');
  return /<eventType>\s*videoloss\s*<\/eventType>[\s\S]*<eventState>\s*inactive\s*<\/eventState>/i.test(s) || /"eventType"\s*:\s*"heartBeat"/i.test(s);
}

/** An event notification (HTTP push body, `event_log` part, or an alertStream part). */
export function parseHikEvent(body: Buffer, terminal: string, tz = 'Asia/Shanghai', contentType?: string): Parsed {
  const s = decodeText(body, contentType).trim();
  if (s.startsWith('<')) {
    // XML notifications (motion, videoloss, tamper): not check-ins on these firmware
    if (!/<EventNotificationAlert[\s>]/.test(s)) throw new Error('XML that is not an EventNotificationAlert');
    return { checkins: [], rejects: [], ignored: true, heartbeat: isHeartbeat(body) };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(s);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message.slice(0, 120)}`);
  }
  if (!isObj(doc)) throw new Error('event is not a JSON object');
  if (doc.eventType !== 'AccessControllerEvent') return { checkins: [], rejects: [], ignored: true, heartbeat: doc.eventType === 'heartBeat' };
  const ev = doc.AccessControllerEvent;
  if (!isObj(ev)) return { checkins: [], rejects: [{ where: 'AccessControllerEvent', message: 'missing' }] };
  const c = acsRecord(terminal, tz, ev, doc.dateTime);
  if (c === null) return { checkins: [], rejects: [], ignored: true };
  if (typeof c === 'string') return { checkins: [], rejects: [{ where: 'AccessControllerEvent', message: c }] };
  const cursor = typeof ev.serialNo === 'number' ? String(ev.serialNo) : undefined;
  if (isEvent(c)) return { checkins: [], rejects: [], events: [c], cursor };
  return { checkins: [c], rejects: [], cursor };
}

/** An AcsEvent search reply page → check-ins; `more` when responseStatusStrg says "More". */
export function parseAcsSearch(body: Buffer, terminal: string, tz = 'Asia/Shanghai'): Parsed & { more: boolean; count: number } {
  let doc: unknown;
  try {
    doc = JSON.parse(decodeText(body));
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message.slice(0, 120)}`);
  }
  const a = isObj(doc) ? doc.AcsEvent : undefined;
  if (!isObj(a)) throw new Error('no AcsEvent in the reply');
  const list = Array.isArray(a.InfoList) ? a.InfoList : [];
  const checkins: CheckIn[] = [];
  const events: TerminalEvent[] = [];
  const rejects: Parsed['rejects'] = [];
  list.forEach((r: unknown, i: number) => {
    if (!isObj(r)) return rejects.push({ where: `InfoList[${i}]`, message: 'not an object' });
    const c = acsRecord(terminal, tz, r, r.time);
    if (typeof c === 'string') rejects.push({ where: `InfoList[${i}]`, message: c });
    else if (isEvent(c)) events.push(c);
    else if (c) checkins.push(c);
  });
  return { checkins, rejects, events, ignored: !checkins.length && !rejects.length && !events.length, more: a.responseStatusStrg === 'More', count: list.length };
}
