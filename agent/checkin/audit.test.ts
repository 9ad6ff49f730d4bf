/**
 * Issue 14: check-ins that hold up in an audit. Inputs are written from the vendors' documented
 * formats (not from the project's simulators): Hikvision ISAPI AccessControllerEvent JSON
 * (github.com/pergolafabio/Hikvision-Addons/issues/177) with major/minor types of the SDK manual
 * (open.hikvision.com NET_DVR_ACS_ALARM_INFO), multipart/form-data per RFC 7578/2046, Dahua
 * eventManager attach parts and recordFinder replies (github.com/rroller/dahua/issues/221),
 * ZKTeco PUSH ATTLOG rows, and the webhook with a UTF-8 BOM (RFC 8259 §8.1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIso } from '../core/time.js';
import { request } from '../sim/terminals/httpc.js';
import { verifyBox } from '../evidence/verify-box.js';
import { evidenceLog } from '../store/evidence-log.js';
import { ClassRepo } from '../store/classes.js';
import { terminalsCheck } from '../doctor/terminals.js';
import { parseDahuaPart, parseRecordFinder } from './dahua/event.js';
import { startCheckin } from './harness.js';
import { TerminalHealth } from './health.js';
import { reparseRaw } from './reparse.js';
import { Terminals } from './terminals.js';
import type { Parsed } from './types.js';
import { CLOCK_ALARM } from './clock.js';

let s: Awaited<ReturnType<typeof startCheckin>>;
const n = (sql: string, ...a: unknown[]) =>
  s.ctx.store.db
    .prepare(sql)
    .pluck()
    .get(...a) as number;
const HIK = () => `${s.base}/hikvision/hik-1?token=tk`;
const sec = (ms: number) => Math.floor(ms / 1000) * 1000;

/** An ISAPI AccessControllerEvent as a DS-K1T pushes it (#177), with the given codes. */
function hikEvent(o: { minor: number; major?: number; emp?: string; serial: number; at: number | string; name?: string; mode?: string }) {
  return JSON.stringify({
    ipAddress: '192.168.1.64',
    portNo: 80,
    protocol: 'HTTP',
    macAddress: '24:0f:9b:00:00:01',
    channelID: 1,
    dateTime: typeof o.at === 'string' ? o.at : formatIso(o.at, 'Asia/Shanghai'),
    activePostCount: 1,
    eventType: 'AccessControllerEvent',
    eventState: 'active',
    eventDescription: 'Access Controller Event',
    AccessControllerEvent: {
      deviceName: 'Access Controller',
      majorEventType: o.major ?? 5,
      subEventType: o.minor,
      reportChannel: 5,
      cardReaderKind: 1,
      doorNo: 1,
      ...(o.emp ? { employeeNoString: o.emp, name: o.name ?? 'Trainee', userType: 'normal', currentVerifyMode: o.mode ?? 'cardOrFace', attendanceStatus: 'checkIn', mask: 'no' } : {}),
      serialNo: o.serial,
      currentEvent: true,
      frontSerialNo: o.serial - 1,
      picturesNumber: 0,
    },
  });
}
const pushJson = (body: string | Buffer, ct = 'application/json') => request(HIK(), { body, headers: { 'content-type': ct } });

beforeAll(async () => {
  s = await startCheckin({
    checkin: { token: 'tk' },
    terminals: [
      { id: 'hik-1', protocol: 'hikvision' },
      { id: 'gate-1', protocol: 'zkteco', serial: 'ZK0001' },
      { id: 'dh-1', protocol: 'dahua', url: 'http://127.0.0.1:9', username: 'a', password: 'b' },
    ],
  });
});
afterAll(async () => {
  await s.stop();
});

describe('1. only verified passes count', () => {
  it('Hikvision 5/78 (employee no. + face FAILED) and 5/76 are kept, not counted; 5/75 counts; an unknown code is reported', async () => {
    const t = sec(Date.now());
    expect((await pushJson(hikEvent({ minor: 0x4e, emp: '2001', serial: 500, at: t }))).status).toBe(200);
    expect((await pushJson(hikEvent({ minor: 0x4c, emp: '2002', serial: 501, at: t }))).status).toBe(200);
    expect(n("SELECT COUNT(*) FROM checkins WHERE person IN ('2001','2002')")).toBe(0);
    expect(n("SELECT COUNT(*) FROM terminal_events WHERE kind = 'not-a-pass' AND code IN ('5/78','5/76')")).toBe(2);
    expect((await pushJson(hikEvent({ minor: 0x4b, emp: '2003', serial: 502, at: t }))).status).toBe(200);
    expect(n("SELECT COUNT(*) FROM checkins WHERE person = '2003' AND event_code = '5/75'")).toBe(1);
    // a minor type not in the vendor table: kept raw, reported, never counted
    expect((await pushJson(hikEvent({ minor: 0xfe, emp: '2004', serial: 503, at: t }))).status).toBe(200);
    expect(n("SELECT COUNT(*) FROM checkins WHERE person = '2004'")).toBe(0);
    const ev = s.server.intake!.repo.events();
    expect(ev.find((e) => e.person === '2004')).toMatchObject({ kind: 'unknown-code', code: '5/254', terminal: 'hik-1' });
  });

  it('Dahua AccessControl with Status 0 is a refusal; ZKTeco rows with an unknown status are not counted', () => {
    const d = parseDahuaPart(
      Buffer.from('Code=AccessControl;action=Pulse;index=0;data={"CardNo":"","ErrorCode":16,"Method":15,"Name":"OpenDoor","RecNo":9,"Status":0,"Type":"Entry","UTC":1790000000,"UserID":"7"}'),
      'dh-1',
      'Asia/Shanghai',
      0,
    );
    expect(d.checkins).toEqual([]);
    expect(d.events?.[0]).toMatchObject({ kind: 'not-a-pass', code: 'AccessControl/0', person: '7' });
  });
});

describe('2. multipart: RFC 2046 boundaries, unreadable bodies never acknowledged, reparse', () => {
  const form = (boundary: string, json: string) =>
    Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="event_log"\r\nContent-Type: application/json\r\n\r\n${json}\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="Picture"; filename="Picture.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
      Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);

  it('a boundary beginning with "--" (RFC 2046 bchars; curl uses dashes) delivers its punch', async () => {
    for (const [i, b] of ['--MIME_boundary', '------------------------d74496d66958873e', "'()+_,-./:=?"].entries()) {
      const r = await pushJson(form(b, hikEvent({ minor: 0x4b, emp: `300${i}`, serial: 600 + i, at: sec(Date.now()) })), `multipart/form-data; boundary="${b}"`);
      expect(r.status).toBe(200);
      expect(n('SELECT COUNT(*) FROM checkins WHERE person = ?', `300${i}`)).toBe(1);
    }
    // the picture is not kept, and what is kept is a form that reads again
    const raw = s.ctx.store.db.prepare("SELECT body FROM raw_inputs WHERE content_type LIKE '%MIME_boundary%'").pluck().get() as Buffer;
    expect(raw.includes(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe(false);
  });

  it('a form that cannot be read (no closing delimiter, no event part) is answered 400, kept raw', async () => {
    const cut = form('xyz', hikEvent({ minor: 0x4b, emp: '3100', serial: 700, at: sec(Date.now()) })).subarray(0, 60);
    const r1 = await pushJson(cut, 'multipart/form-data; boundary=xyz');
    expect(r1.status).toBe(400);
    const r2 = await pushJson(
      Buffer.from('--xyz\r\nContent-Disposition: form-data; name="Picture"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\nJPEG\r\n--xyz--\r\n'),
      'multipart/form-data; boundary=xyz',
    );
    expect(r2.status).toBe(400);
    const id = JSON.parse(r1.body).raw as number;
    expect(s.ctx.store.db.prepare('SELECT status FROM raw_inputs WHERE id = ?').pluck().get(id)).toBe('unparsable');
  });

  it('ZKTeco ATTLOG with no readable row is not acknowledged (the terminal keeps it and retries)', async () => {
    const r = await request(`${s.base}/iclock/cdata?SN=ZK0001&table=ATTLOG&Stamp=1`, { body: 'garbage without tabs\n' });
    expect(r.status).toBe(400);
    expect(r.body).toMatch(/^ERROR/);
  });

  it('reparse reads a kept raw input again: adds what a broken parser missed, voids what it wrongly counted, edits nothing', async () => {
    const repo = s.server.intake!.repo;
    const body = Buffer.from(`4001\t${formatIso(Date.now(), 'Asia/Shanghai').slice(0, 19).replace('T', ' ')}\t0\t15\t0\t0\r\n`);
    // yesterday's parser crashed on this body: kept raw, nothing stored
    const bad = await s.server.intake!.submit({
      raw: { protocol: 'zkteco', terminal: 'gate-1', channel: 'http', method: 'POST', path: '/iclock/cdata?SN=ZK0001&table=ATTLOG&Stamp=9', body, receivedMs: Date.now() },
      parse: () => {
        throw new Error('parser bug');
      },
    });
    expect(bad.status).toBe('unparsable');
    const cfg = s.ctx.cfg.terminals;
    const r1 = await reparseRaw(repo.rawForReparse([bad.rawId])[0], cfg, repo);
    expect(r1).toMatchObject({ added: 1, voided: 0, status: 'ok' });
    expect((await reparseRaw(repo.rawForReparse([bad.rawId])[0], cfg, repo)).added).toBe(0);
    // an older version counted a failed face check (5/78) from this push
    const t = sec(Date.now());
    const failed = hikEvent({ minor: 0x4e, emp: '4002', serial: 800, at: t });
    const wrong: Parsed = {
      checkins: [{ protocol: 'hikvision', terminal: 'hik-1', person: '4002', at: t, tzOffsetMin: 480, verifyMode: 'face', similarity: null, dedupKey: `hik:hik-1:800` }],
      rejects: [],
    };
    const old = await s.server.intake!.submit({
      raw: { protocol: 'hikvision', terminal: 'hik-1', channel: 'http', method: 'POST', path: '/hikvision/hik-1', contentType: 'application/json', body: Buffer.from(failed), receivedMs: Date.now() },
      parse: () => wrong,
    });
    const r2 = await reparseRaw(repo.rawForReparse([old.rawId])[0], cfg, repo);
    expect(r2).toMatchObject({ added: 0, voided: 1, events: 1 });
    expect(n("SELECT COUNT(*) FROM checkins WHERE person = '4002'")).toBe(1); // the row is still there, as hashed
    expect(n("SELECT COUNT(*) FROM checkins_current WHERE person = '4002'")).toBe(0);
    // the re-read's check-in is logged as a batch of its own (the raw input's entry was written before)
    expect(n("SELECT COUNT(*) FROM evidence_log WHERE kind = 'checkins'")).toBe(1);
    // every entry and row (no key here: signatures are the evidence tests' part)
    expect((await verifyBox(evidenceLog(s.ctx.store), { files: false })).problems.filter((p) => p.kind !== 'checkpoint')).toEqual([]);
  });
});

describe('3. a duplicate is the same real event, not the same counter', () => {
  it('after a device swap the counter restarts: the new punch is stored and the reuse reported; a true resend is a duplicate', async () => {
    const t1 = sec(Date.now()) - 60_000;
    const t2 = sec(Date.now());
    await pushJson(hikEvent({ minor: 0x4b, emp: '5001', serial: 1, at: t1 }));
    await pushJson(hikEvent({ minor: 0x4b, emp: '5001', serial: 1, at: t1 })); // the device resends
    await pushJson(hikEvent({ minor: 0x4b, emp: '5002', serial: 1, at: t2 })); // new device, counter from 1 again
    expect(n("SELECT COUNT(*) FROM checkins WHERE person IN ('5001','5002')")).toBe(2);
    expect(n("SELECT COUNT(*) FROM terminal_events WHERE kind = 'counter-reuse' AND person = '5002'")).toBe(1);
  });
});

describe('4. Dahua: live without RecNo, then recordFinder after a reconnect', () => {
  it('the same punch is stored once', async () => {
    const utc = Math.floor(Date.now() / 1000);
    const ingest = s.server.intake!;
    const live = Buffer.from(
      `Code=AccessControl;action=Pulse;index=0;data={"CardNo":"","CardType":null,"ErrorCode":0,"Method":15,"Name":"OpenDoor","Password":"","ReaderID":"1","SnapURL":"","Status":1,"Type":"Entry","UTC":${utc},"UserID":"6001"}`,
    );
    await ingest.submit({ raw: { protocol: 'dahua', terminal: 'dh-1', channel: 'stream', body: live, receivedMs: Date.now() }, parse: (b) => parseDahuaPart(b, 'dh-1', 'Asia/Shanghai', Date.now()) });
    const found = Buffer.from(
      `found=1\r\nrecords[0].CardNo=\r\nrecords[0].CreateTime=${utc}\r\nrecords[0].Method=15\r\nrecords[0].RecNo=4711\r\nrecords[0].Status=1\r\nrecords[0].Type=Entry\r\nrecords[0].UserID=6001\r\n`,
    );
    await ingest.submit({
      raw: { protocol: 'dahua', terminal: 'dh-1', channel: 'search', body: found, receivedMs: Date.now() },
      parse: (b) => parseRecordFinder(b, 'dh-1', 'Asia/Shanghai', Date.now()),
    });
    expect(n("SELECT COUNT(*) FROM checkins WHERE terminal = 'dh-1' AND person = '6001'")).toBe(1);
  });
});

describe('5. remap is a correction, not an edit', () => {
  it('the hashed row keeps verifying; the verdict reads the corrected view', async () => {
    const t = sec(Date.now());
    await pushJson(hikEvent({ minor: 0x4b, emp: '7001', serial: 900, at: t, name: '张三' }));
    new ClassRepo(s.ctx.store).save(
      { id: 'C7', trainees: [{ id: 'S7', terminalIds: ['7001'] }], teachers: [], lessons: [{ id: 'L1', kind: 'theory', start: t - 3600_000, end: t + 3600_000, cameras: [], makeUp: false }] } as never,
      'henan-2025',
    );
    expect(s.server.intake!.repo.remapUnknown()).toBeGreaterThanOrEqual(1);
    // every entry and row (no key here: signatures are the evidence tests' part)
    expect((await verifyBox(evidenceLog(s.ctx.store), { files: false })).problems.filter((p) => p.kind !== 'checkpoint')).toEqual([]);
    expect(n("SELECT COUNT(*) FROM checkins WHERE person = '7001' AND trainee IS NULL")).toBe(1);
    expect(n("SELECT COUNT(*) FROM checkins_current WHERE person = '7001' AND trainee = 'S7'")).toBe(1);
    const ev = new ClassRepo(s.ctx.store).evidence('C7')!;
    expect(ev.checkins.map((c) => c.trainee)).toContain('S7');
  });
});

describe('6. clocks that lie', () => {
  it('a punch dated 2000 is kept, flagged, expires from its receipt, and the terminal skew is estimated', async () => {
    const r = await request(`${s.base}/iclock/cdata?SN=ZK0001&table=ATTLOG&Stamp=2`, { body: '8001\t2000-01-01 00:00:05\t0\t15\t0\t0\r\n' });
    expect(r.body).toBe('OK: 1');
    const row = s.ctx.store.db.prepare("SELECT time_flag, expires_ms, received_ms FROM checkins WHERE person = '8001'").get() as { time_flag: string; expires_ms: number; received_ms: number };
    expect(row.time_flag).toBe('ancient');
    expect(row.expires_ms).toBe(s.ctx.store.expiresAt(row.received_ms));
    expect(row.expires_ms).toBeGreaterThan(Date.now());
    expect(s.server.intake!.repo.state('gate-1')!.skew_ms).toBeLessThan(-20 * 365 * 24 * 3600_000);
  });

  it('a terminal 8 hours off (UTC wall clock sent as +08:00) and one 3 hours fast are estimated at any size', async () => {
    const now = sec(Date.now());
    await pushJson(hikEvent({ minor: 0x4b, emp: '8002', serial: 1000, at: now - 8 * 3600_000 }));
    expect(Math.round(s.server.intake!.repo.state('hik-1')!.skew_ms! / 3600_000)).toBe(-8);
    await pushJson(hikEvent({ minor: 0x4b, emp: '8003', serial: 1001, at: now + 3 * 3600_000 }));
    expect(Math.round(s.server.intake!.repo.state('hik-1')!.skew_ms! / 3600_000)).toBe(3);
    expect(n("SELECT COUNT(*) FROM checkins WHERE person = '8003' AND time_flag = 'future'")).toBe(1);
    // alarmed by the health check, with the skew
    new TerminalHealth(s.ctx, s.server.intake!.repo, new Terminals(s.ctx.cfg.terminals)).check();
    expect(s.ctx.store.db.prepare('SELECT message FROM alarms WHERE kind = ? AND subject = ? AND cleared_ms IS NULL').pluck().get(CLOCK_ALARM, 'hik-1')).toMatch(
      /clock off by 10[78]\d\d s \(3\.00 h\)/,
    ); // minus the request's own delay
  });
});

describe('7. smaller ones', () => {
  it('webhook JSON with a UTF-8 BOM is accepted', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ id: 'bom-1', terminal: 'door', person: '9001', at: formatIso(Date.now()) }))]);
    const r = await request(`${s.base}/api/v1/checkins`, { body, headers: { authorization: 'Bearer tk', 'content-type': 'application/json' } });
    expect(r.status).toBe(200);
    expect(n("SELECT COUNT(*) FROM checkins WHERE person = '9001'")).toBe(1);
  });

  it('Hikvision dateTime without offset is read in the terminal zone; a GBK name is read as such', async () => {
    const now = sec(Date.now());
    const local = formatIso(now, 'Asia/Shanghai').slice(0, 19);
    expect((await pushJson(hikEvent({ minor: 0x4b, emp: '9002', serial: 1100, at: local }))).status).toBe(200);
    expect(n("SELECT at_ms FROM checkins WHERE person = '9002'")).toBe(now);
    const gbk = Buffer.concat([
      Buffer.from(hikEvent({ minor: 0x4b, emp: '9003', serial: 1101, at: now, name: 'NAME' }).split('"NAME"')[0] + '"'),
      Buffer.from([0xd5, 0xc5, 0xc8, 0xfd]),
      Buffer.from('"' + hikEvent({ minor: 0x4b, emp: '9003', serial: 1101, at: now, name: 'NAME' }).split('"NAME"')[1]),
    ]);
    expect((await pushJson(gbk)).status).toBe(200);
    expect(s.server.intake!.repo.list({ unknownOnly: true, limit: 1000 }).find((c) => c.person === '9003')?.name).toBe('张三');
  });

  it('a Hikvision heartbeat sets lastHeartbeat', async () => {
    await pushJson(JSON.stringify({ ipAddress: '192.168.1.64', dateTime: formatIso(Date.now()), activePostCount: 1, eventType: 'heartBeat', eventState: 'active', eventDescription: 'heartBeat' }));
    expect(s.server.intake!.repo.state('hik-1')!.last_heartbeat_ms).toBeGreaterThan(0);
  });

  it('an unregistered ZKTeco serial is listed for approval, and approval lets it in', async () => {
    const r = await request(`${s.base}/iclock/cdata?SN=NEW0042&options=all&pushver=2.4.1`);
    expect(r.status).toBe(401);
    const repo = s.server.intake!.repo;
    expect(repo.serials({ pendingOnly: true }).map((x) => x.serial)).toContain('NEW0042');
    repo.approve('zkteco', 'NEW0042', 'zk-NEW0042', 'Asia/Shanghai');
    expect((await request(`${s.base}/iclock/cdata?SN=NEW0042&options=all&pushver=2.4.1`)).body).toMatch(/^GET OPTION FROM: NEW0042/);
  });

  it('doctor: push-mode Hikvision fix names its push address, not a url; lists an unapproved serial with the approve command', async () => {
    await request(`${s.base}/iclock/getrequest?SN=ROGUE1`);
    const res = await terminalsCheck.run({
      cfg: { ...s.ctx.cfg, checkin: { ...s.ctx.cfg.checkin, quietMinutes: 0 } },
      now: Date.now() + 3600_000,
      paths: { state: s.dir, video: s.dir, database: s.db },
    });
    expect(res.fix!.en).toMatch(/hikvision\/hik-1/);
    expect(res.fix!.en).not.toMatch(/terminals\[0\]\.url/);
    expect(res.fix!.en).toMatch(/checkins approve ROGUE1/);
    expect(res.fix!.en).toMatch(/clock off by/);
    expect(res.detail).toMatch(/unknown event codes/);
    expect(res.detail).toMatch(/implausible times/);
  });
});
