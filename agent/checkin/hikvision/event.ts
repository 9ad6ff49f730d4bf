import { isoOffsetMinutes, parseIsoStrict } from '../../core/time.js';
import type { CheckIn, Parsed } from '../types.js';

const offsetMin = isoOffsetMinutes;

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);
const str = (x: unknown) => (typeof x === 'string' ? x : typeof x === 'number' ? String(x) : '');

/**
 * One access-control record (an AccessControllerEvent of a push/stream, or an InfoList entry of
 * an AcsEvent search) → CheckIn, or null when it is not a person passing (door events, alarms,
 * failed/unknown faces: currentVerifyMode "invalid" or no employee number).
 * Dedupe on the device's monotonic serialNo: the same event from a push, the stream and a
 * catch-up search is stored once.
 */
export function acsRecord(terminal: string, r: Obj, time: unknown): CheckIn | null | string {
  const person = str(r.employeeNoString) || str(r.employeeNo);
  const mode = str(r.currentVerifyMode);
  if (!person || mode === 'invalid') return null;
  if (!/^[A-Za-z0-9._-]{1,32}$/.test(person)) return 'employeeNo: 1-32 letters or digits';
  const at = parseIsoStrict(time);
  if (at === undefined) return 'dateTime: not ISO 8601 with offset';
  const serial = r.serialNo;
  const key = typeof serial === 'number' && Number.isInteger(serial) && serial >= 0 ? `hik:${terminal}:${serial}` : `hik:${terminal}:${person}:${at}`;
  const sim = typeof r.similarity === 'number' ? r.similarity : null;
  return { protocol: 'hikvision', terminal, person, at, tzOffsetMin: offsetMin(time as string), verifyMode: mode || null, similarity: sim, dedupKey: key };
}

/** Is this alertStream part only a keep-alive (XML videoloss inactive, JSON heartBeat)? */
export function isHeartbeat(body: Buffer): boolean {
  if (body.length > 2048) return false;
  const s = body.toString('utf8');
  return /<eventType>\s*videoloss\s*<\/eventType>[\s\S]*<eventState>\s*inactive\s*<\/eventState>/i.test(s) || /"eventType"\s*:\s*"heartBeat"/i.test(s);
}

/** An event notification (HTTP push body, `event_log` part, or an alertStream part). */
export function parseHikEvent(body: Buffer, terminal: string): Parsed {
  const s = body.toString('utf8').trim();
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
  const c = acsRecord(terminal, ev, doc.dateTime);
  if (c === null) return { checkins: [], rejects: [], ignored: true };
  if (typeof c === 'string') return { checkins: [], rejects: [{ where: 'AccessControllerEvent', message: c }] };
  return { checkins: [c], rejects: [], cursor: typeof ev.serialNo === 'number' ? String(ev.serialNo) : undefined };
}

/** An AcsEvent search reply page → check-ins; `more` when responseStatusStrg says "More". */
export function parseAcsSearch(body: Buffer, terminal: string): Parsed & { more: boolean; count: number } {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message.slice(0, 120)}`);
  }
  const a = isObj(doc) ? doc.AcsEvent : undefined;
  if (!isObj(a)) throw new Error('no AcsEvent in the reply');
  const list = Array.isArray(a.InfoList) ? a.InfoList : [];
  const checkins: CheckIn[] = [];
  const rejects: Parsed['rejects'] = [];
  list.forEach((r: unknown, i: number) => {
    if (!isObj(r)) return rejects.push({ where: `InfoList[${i}]`, message: 'not an object' });
    const c = acsRecord(terminal, r, r.time);
    if (typeof c === 'string') rejects.push({ where: `InfoList[${i}]`, message: c });
    else if (c) checkins.push(c);
  });
  return { checkins, rejects, ignored: !checkins.length && !rejects.length, more: a.responseStatusStrg === 'More', count: list.length };
}
