import type http from 'node:http';
import { formatIso } from '../../core/time.js';
import { request } from './httpc.js';
import { readBody, StreamDevice, type StreamDeviceOptions } from './streamdev.js';

export interface HikEvent {
  serialNo: number;
  time: string;
  employeeNo: string;
  verifyMode: string;
  minor: number;
}

export interface HikOptions extends StreamDeviceOptions {
  /** answer AcsEvent search (some DS-K1T models answer notSupport) */
  search?: boolean;
  tz?: string;
}

/**
 * A Hikvision DS-K1T face terminal: serves /ISAPI/Event/notification/alertStream (multipart with
 * JSON AccessControllerEvent parts and XML videoloss heartbeats), answers AcsEvent searches from
 * its event log, and can push events to an httpHosts URL (JSON or multipart with event_log + JPEG).
 */
export class HikDevice extends StreamDevice {
  readonly events: HikEvent[] = [];
  private serial = 256;

  constructor(opts: HikOptions = {}) {
    super(opts, 'DS-K1T341', 'boundary');
  }

  private get h() {
    return this.opts as HikOptions;
  }

  eventJson(e: HikEvent): string {
    return JSON.stringify({
      ipAddress: '127.0.0.1',
      portNo: 80,
      protocol: 'HTTP',
      macAddress: '44:47:cc:00:00:01',
      channelID: 1,
      dateTime: e.time,
      activePostCount: 1,
      eventType: 'AccessControllerEvent',
      eventState: 'active',
      eventDescription: 'Access Controller Event',
      AccessControllerEvent: {
        deviceName: 'Access Controller',
        majorEventType: 5,
        subEventType: e.minor,
        name: 'Trainee',
        cardReaderNo: 1,
        employeeNoString: e.employeeNo,
        serialNo: e.serialNo,
        userType: 'normal',
        currentVerifyMode: e.verifyMode,
        frontSerialNo: e.serialNo - 1,
        attendanceStatus: 'checkIn',
        mask: 'no',
        picturesNumber: 1,
      },
    });
  }

  /** A person passes: logged on the device and sent to open streams (if online and not stale). */
  punch(employeeNo: string, at: number = Date.now(), verifyMode = 'cardOrFace'): HikEvent {
    const e = { serialNo: ++this.serial, time: formatIso(Math.floor(at / 1000) * 1000, this.h.tz ?? 'Asia/Shanghai'), employeeNo, verifyMode, minor: 75 };
    this.events.push(e);
    this.broadcast(this.part('application/json; charset="UTF-8"', this.eventJson(e)));
    return e;
  }

  protected heartbeat(): void {
    this.broadcast(
      this.part(
        'application/xml; charset="UTF-8"',
        `<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><ipAddress>127.0.0.1</ipAddress><dateTime>${formatIso(Date.now())}</dateTime><activePostCount>0</activePostCount><eventType>videoloss</eventType><eventState>inactive</eventState><eventDescription>videoloss alarm</eventDescription></EventNotificationAlert>`,
      ),
    );
  }

  /** Push one event to an httpHosts URL, as JSON or multipart (event_log + picture). */
  async push(url: string, e: HikEvent, opts: { multipart?: boolean; basic?: string; chunks?: number } = {}) {
    const headers: Record<string, string> = {};
    if (opts.basic) headers.authorization = `Basic ${Buffer.from(`admin:${opts.basic}`).toString('base64')}`;
    if (!opts.multipart) return request(url, { body: this.eventJson(e), headers: { ...headers, 'content-type': 'application/json' }, chunks: opts.chunks });
    const b = 'MIME_boundary';
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 7), Buffer.from([0xff, 0xd9])]);
    const body = Buffer.concat([
      Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="event_log"\r\nContent-Type: application/json\r\n\r\n${this.eventJson(e)}\r\n`),
      Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="Picture"; filename="Picture.jpg"\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`),
      jpeg,
      Buffer.from(`\r\n--${b}--\r\n`),
    ]);
    return request(url, { body, headers: { ...headers, 'content-type': `multipart/form-data; boundary=${b}` }, chunks: opts.chunks });
  }

  protected onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://dev');
    this.count(url.pathname);
    if (!this.authorized(req, res)) return;
    if (url.pathname === '/ISAPI/Event/notification/alertStream' && req.method === 'GET') return this.openStream(res, 'multipart/mixed');
    if (url.pathname === '/ISAPI/System/deviceInfo') {
      res.writeHead(200, { 'content-type': 'application/xml' });
      return void res.end('<DeviceInfo><deviceName>DS-K1T341</deviceName><model>DS-K1T341AM</model><serialNumber>SIM0001</serialNumber></DeviceInfo>');
    }
    if (url.pathname === '/ISAPI/AccessControl/AcsEvent' && req.method === 'POST') {
      void readBody(req).then((b) => {
        if (this.h.search === false) {
          res.writeHead(403, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ statusCode: 4, statusString: 'Invalid Operation', subStatusCode: 'notSupport' }));
        }
        let cond: { searchID: string; searchResultPosition: number; maxResults: number; startTime: string; endTime: string };
        try {
          cond = JSON.parse(b.toString()).AcsEventCond;
        } catch {
          res.writeHead(400);
          return void res.end();
        }
        const from = Date.parse(cond.startTime);
        const to = Date.parse(cond.endTime);
        const match = this.events.filter((e) => Date.parse(e.time) >= from && Date.parse(e.time) <= to);
        const page = match.slice(cond.searchResultPosition, cond.searchResultPosition + Math.min(cond.maxResults, 30));
        const more = cond.searchResultPosition + page.length < match.length;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            AcsEvent: {
              searchID: cond.searchID,
              responseStatusStrg: match.length ? (more ? 'More' : 'OK') : 'NO MATCH',
              numOfMatches: page.length,
              totalMatches: match.length,
              InfoList: page.map((e) => ({
                major: 5,
                minor: e.minor,
                time: e.time,
                cardNo: '',
                name: 'Trainee',
                doorNo: 1,
                verifyNo: 0,
                employeeNoString: e.employeeNo,
                serialNo: e.serialNo,
                userType: 'normal',
                currentVerifyMode: e.verifyMode,
                attendanceStatus: 'checkIn',
              })),
            },
          }),
        );
      });
      return;
    }
    res.writeHead(404);
    res.end();
  }
}
