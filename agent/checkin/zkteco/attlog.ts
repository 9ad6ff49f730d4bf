import { offsetAt, wallToUtc } from '../zone.js';
import { classifyZk } from '../codes.js';
import type { CheckIn, Parsed, Reject, TerminalEvent } from '../types.js';

const TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/**
 * ZKTeco local wall-clock time ("2026-10-04 08:30:00", no zone) read in the terminal's configured
 * zone. Returns undefined for impossible dates (2026-02-30) so they are rejected, not shifted.
 */
export function zkLocalTime(s: string, tz: string): number | undefined {
  const m = TIME.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) return undefined;
  const ms = wallToUtc(y, mo, d, h, mi, se, tz);
  // round trip: rejects impossible dates (2026-02-30) instead of shifting them
  const back = new Date(ms + offsetAt(ms, tz) * 60000);
  return back.getUTCDate() === d && back.getUTCMonth() + 1 === mo && back.getUTCHours() === h ? ms : undefined;
}

/**
 * ATTLOG upload body: one punch per line, TAB-separated (space-separated as fallback on some
 * OEM firmware): PIN, "YYYY-MM-DD HH:mm:ss", status, verify, workcode, reserved. LF or CRLF,
 * NULs stripped. Bad lines are rejected one by one; the rest still count.
 * Dedupe key = serial + PIN + local time string: exactly what a terminal resends after an outage.
 */
export function parseAttlog(body: Buffer, terminal: string, serial: string, tz: string, stamp?: string): Parsed {
  const text = body.toString('utf8').replace(/\0/g, '');
  const checkins: CheckIn[] = [];
  const events: TerminalEvent[] = [];
  const rejects: Reject[] = [];
  const lines = text.split(/\r?\n|\r/);
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let f = line.split('\t');
    if (f.length < 2) {
      // fallback: "1001 2026-10-04 08:30:00 0 15" — date and time are two space-separated words
      const w = line.trim().split(/ +/);
      f = w.length >= 3 ? [w[0], `${w[1]} ${w[2]}`, ...w.slice(3)] : w;
    }
    const pin = (f[0] ?? '').trim();
    const local = (f[1] ?? '').trim();
    if (!/^[A-Za-z0-9]{1,24}$/.test(pin)) return rejects.push({ where: `line ${i + 1}`, message: 'PIN missing or not 1-24 letters/digits' });
    const at = zkLocalTime(local, tz);
    if (at === undefined) return rejects.push({ where: `line ${i + 1}`, message: 'time is not "YYYY-MM-DD HH:mm:ss"' });
    const verify = (f[3] ?? '').trim();
    const v = classifyZk((f[2] ?? '').trim());
    if (v.kind !== 'pass') {
      return events.push({ kind: v.kind, terminal, code: v.code, meaning: v.kind === 'unknown-code' ? null : `${v.meaning.zh} / ${v.meaning.en}`, person: pin, name: null, at });
    }
    checkins.push({
      protocol: 'zkteco',
      terminal,
      person: pin,
      at,
      tzOffsetMin: offsetAt(at, tz),
      verifyMode: verify && /^\d{1,4}$/.test(verify) ? verify : null,
      similarity: null,
      dedupKey: `zk:${serial}:${pin}:${local}`,
      code: v.code,
    });
  });
  return { checkins, rejects, events, cursor: stamp && /^\d{1,20}$/.test(stamp) ? stamp : undefined };
}

/** Count of non-empty lines: what `OK: n` reports (terminals compare it with what they sent). */
export function nonEmptyLines(body: Buffer): number {
  return body
    .toString('utf8')
    .replace(/\0/g, '')
    .split(/\r?\n|\r/)
    .filter((l) => l.trim()).length;
}

/** Handshake reply ("GET OPTION FROM: <sn>"), with our cursor so the terminal resends only what we lack. */
export function handshake(sn: string, stamp: string | null, tzHours: number): string {
  return (
    [
      `GET OPTION FROM: ${sn}`,
      `ATTLOGStamp=${stamp ?? 'None'}`,
      `Stamp=${stamp ?? '0'}`,
      'OPERLOGStamp=9999',
      'ATTPHOTOStamp=9999',
      'ErrorDelay=30',
      'Delay=10',
      'TransTimes=00:00;14:05',
      'TransInterval=1',
      // punches only: operation logs (OpLog), enrollments and pictures carry templates and passwords the box must not receive
      'TransFlag=TransData AttLog',
      `TimeZone=${tzHours}`,
      'Realtime=1',
      'Encrypt=None',
    ].join('\n') + '\n'
  );
}
