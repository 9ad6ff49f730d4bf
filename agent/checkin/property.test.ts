/**
 * Property: for any interleaving of device resends, lost replies, reconnects with catch-up
 * searches, counter resets (device replaced, event log cleared) and kill -9 of the agent
 * (the store closed and opened again on the same file mid-history), every real pass is stored
 * exactly once and nothing else is: failed checks and unknown codes are never counted.
 * Every delivery goes through the real wire format and the real parser into a real SQLite file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { formatIso } from '../core/time.js';
import { CheckinRepo, type IntakeItem } from '../store/checkins.js';
import { Store } from '../store/store.js';
import { parseDahuaPart, parseRecordFinder } from './dahua/event.js';
import { parseAcsSearch, parseHikEvent } from './hikvision/event.js';
import { parseAttlog } from './zkteco/attlog.js';

const RUNS = Number(process.env.CHECKIN_PROPERTY_RUNS ?? 1000);
const TZ = 'Asia/Shanghai';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-prop-'));
const file = path.join(dir, 'evidence.db');
let store = new Store({ file });
let repo = new CheckinRepo(store);
afterAll(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

type Vendor = 'hik' | 'dahua' | 'zk';
interface Ev {
  vendor: Vendor;
  person: string;
  at: number;
  pass: boolean;
  /** device counter (Hikvision serialNo, Dahua RecNo); restarts after a reset */
  counter: number;
  unknownCode: boolean;
}

const zkTime = (ms: number) => formatIso(ms, TZ).slice(0, 19).replace('T', ' ');
const hikJson = (e: Ev) =>
  JSON.stringify({
    ipAddress: '10.0.0.2',
    dateTime: formatIso(e.at, TZ),
    eventType: 'AccessControllerEvent',
    eventState: 'active',
    AccessControllerEvent: { majorEventType: 5, subEventType: e.unknownCode ? 0xfd : e.pass ? 0x4b : 0x4e, employeeNoString: e.person, name: 'X', currentVerifyMode: 'face', serialNo: e.counter },
  });

/** One delivery, as the device would send it: a live push/part, or a catch-up page of several events. */
function item(t: string, evs: Ev[], live: boolean, withRecNo: boolean, receivedMs: number): IntakeItem {
  const v = evs[0].vendor;
  if (v === 'hik') {
    if (live) return { raw: { protocol: 'hikvision', terminal: t, channel: 'http', body: Buffer.from(hikJson(evs[0])), receivedMs }, parse: (b) => parseHikEvent(b, t, TZ) };
    const body = JSON.stringify({
      AcsEvent: {
        searchID: '1',
        responseStatusStrg: 'OK',
        numOfMatches: evs.length,
        InfoList: evs.map((e) => ({
          major: 5,
          minor: e.unknownCode ? 0xfd : e.pass ? 0x4b : 0x4e,
          time: formatIso(e.at, TZ),
          employeeNoString: e.person,
          serialNo: e.counter,
          currentVerifyMode: 'face',
        })),
      },
    });
    return { raw: { protocol: 'hikvision', terminal: t, channel: 'search', body: Buffer.from(body), receivedMs }, parse: (b) => parseAcsSearch(b, t, TZ) };
  }
  if (v === 'dahua') {
    const status = (e: Ev) => (e.unknownCode ? 7 : e.pass ? 1 : 0);
    if (live) {
      const e = evs[0];
      const data = { Method: 15, Status: status(e), UTC: e.at / 1000, UserID: e.person, ...(withRecNo ? { RecNo: e.counter } : {}) };
      return {
        raw: { protocol: 'dahua', terminal: t, channel: 'stream', body: Buffer.from(`Code=AccessControl;action=Pulse;index=0;data=${JSON.stringify(data)}`), receivedMs },
        parse: (b) => parseDahuaPart(b, t, TZ, receivedMs),
      };
    }
    const lines = [
      `found=${evs.length}`,
      ...evs.flatMap((e, i) => [`records[${i}].CreateTime=${e.at / 1000}`, `records[${i}].RecNo=${e.counter}`, `records[${i}].Status=${status(e)}`, `records[${i}].UserID=${e.person}`]),
    ];
    return { raw: { protocol: 'dahua', terminal: t, channel: 'search', body: Buffer.from(lines.join('\r\n')), receivedMs }, parse: (b) => parseRecordFinder(b, t, TZ, receivedMs) };
  }
  const body = evs.map((e) => `${e.person}\t${zkTime(e.at)}\t${e.unknownCode ? 99 : 0}\t15\t0\t0`).join('\r\n');
  return { raw: { protocol: 'zkteco', terminal: t, channel: 'http', body: Buffer.from(`${body}\r\n`), receivedMs }, parse: (b) => parseAttlog(b, t, `SN-${t}`, TZ) };
}

type Op = { op: 'send'; i: number; withRecNo: boolean; lostReply: boolean } | { op: 'catchup'; from: number; to: number } | { op: 'kill' };

const evArb = fc.record({
  person: fc.constantFrom('1001', '1002', '1003', 'A7'),
  pass: fc.boolean(),
  unknownCode: fc.integer({ min: 0, max: 9 }).map((x) => x === 0),
  reset: fc.integer({ min: 0, max: 5 }).map((x) => x === 0),
});
const opArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('send' as const), i: fc.nat(), withRecNo: fc.boolean(), lostReply: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('catchup' as const), from: fc.nat(), to: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ op: 'kill' as const }) },
);

let history = 0;
describe('check-in intake, property', () => {
  it(`${RUNS} generated histories: every real pass stored exactly once, nothing else`, () => {
    fc.assert(
      fc.property(fc.constantFrom<Vendor>('hik', 'dahua', 'zk'), fc.array(evArb, { minLength: 1, maxLength: 12 }), fc.array(opArb, { maxLength: 24 }), (vendor, raw, ops) => {
        const t = `p${history++}-${vendor}`;
        const base = Date.parse('2026-10-04T00:00:00Z') + history * 3600_000;
        let counter = 0;
        // distinct seconds: two real events never share (terminal, person, second)
        const evs: Ev[] = raw.map((r, k) => {
          counter = r.reset ? 1 : counter + 1;
          // a ZKTeco row is always a verified punch unless its status code is unknown
          return { vendor, person: r.person, at: base + k * 7000, pass: vendor === 'zk' ? !r.unknownCode : r.pass && !r.unknownCode, unknownCode: r.unknownCode, counter };
        });
        const acked = new Set<number>();
        const receivedMs = base + 3600_000;
        for (const o of ops) {
          if (o.op === 'kill') {
            // kill -9: nothing of an unfinished commit survives; the store is opened again from the file
            repo.close();
            store.close();
            store = new Store({ file });
            repo = new CheckinRepo(store);
            continue;
          }
          if (o.op === 'send') {
            const i = o.i % evs.length;
            repo.commit([item(t, [evs[i]], true, o.withRecNo, receivedMs)]);
            if (!o.lostReply) acked.add(i);
            continue;
          }
          // reconnect: a catch-up search/backlog page of a range of the device's log
          const a = o.from % evs.length;
          const b = o.to % evs.length;
          const page = evs.slice(Math.min(a, b), Math.max(a, b) + 1);
          repo.commit([item(t, page, false, true, receivedMs)]);
          for (let k = Math.min(a, b); k <= Math.max(a, b); k++) acked.add(k);
        }
        // the device resends whatever was never acknowledged (one final catch-up)
        const rest = evs.filter((_, k) => !acked.has(k));
        if (rest.length) repo.commit([item(t, rest, false, true, receivedMs)]);
        const stored = store.db.prepare('SELECT person, at_ms FROM checkins_current WHERE terminal = ? ORDER BY at_ms').all(t) as { person: string; at_ms: number }[];
        const want = evs.filter((e) => e.pass).map((e) => ({ person: e.person, at_ms: e.at }));
        expect(stored).toEqual(want);
        // what did not count is kept and reported
        const kept = store.db.prepare('SELECT COUNT(*) FROM terminal_events WHERE terminal = ? AND kind IN (?, ?)').pluck().get(t, 'not-a-pass', 'unknown-code') as number;
        expect(kept).toBe(evs.filter((e) => !e.pass).length);
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});
