import type http from 'node:http';
import { StreamDevice, type StreamDeviceOptions } from './streamdev.js';

export interface DahuaRec {
  RecNo: number;
  UTC: number;
  UserID: string;
  Method: number;
  Status: number;
}

/**
 * A Dahua (or Intelbras/Amcrest) access terminal: /cgi-bin/eventManager.cgi?action=attach
 * answers multipart/x-mixed-replace with `--myboundary` parts
 * `Code=AccessControl;action=Pulse;index=0;data={...}` and `Heartbeat` parts at the asked interval;
 * /cgi-bin/recordFinder.cgi?action=find&name=AccessControlCardRec serves its record log.
 */
export class DahuaDevice extends StreamDevice {
  readonly records: DahuaRec[] = [];
  private recNo = 100;
  /** bare "Heartbeat\r\n" lines between parts instead of Heartbeat parts (older firmware) */
  bareHeartbeat = false;

  constructor(opts: StreamDeviceOptions = {}) {
    super(opts, 'Login to DH-ASI6213J', 'myboundary');
  }

  partBody(r: DahuaRec, pretty = false): string {
    const data = {
      CardNo: '',
      CardType: null,
      ErrorCode: 0,
      LocaleTime: new Date(r.UTC * 1000).toISOString().replace('T', ' ').slice(0, 19),
      Method: r.Method,
      Name: 'OpenDoor',
      Password: '',
      ReaderID: '1',
      RecNo: r.RecNo,
      SnapURL: '',
      Status: r.Status,
      Type: 'Entry',
      UTC: r.UTC,
      UserID: r.UserID,
      Similarity: 97,
    };
    return `Code=AccessControl;action=Pulse;index=0;data=${JSON.stringify(data, null, pretty ? '\t' : undefined)}`;
  }

  punch(userId: string, at: number = Date.now(), opts: { status?: number; pretty?: boolean } = {}): DahuaRec {
    const r = { RecNo: ++this.recNo, UTC: Math.floor(at / 1000), UserID: userId, Method: 15, Status: opts.status ?? 1 };
    this.records.push(r);
    this.broadcast(this.part('text/plain', this.partBody(r, opts.pretty)));
    return r;
  }

  protected heartbeat(): void {
    this.broadcast(this.bareHeartbeat ? Buffer.from('Heartbeat\r\n') : this.part('text/plain', 'Heartbeat'));
  }

  protected onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://dev');
    this.count(url.pathname);
    if (!this.authorized(req, res)) return;
    if (url.pathname === '/cgi-bin/eventManager.cgi' && url.searchParams.get('action') === 'attach') return this.openStream(res, 'multipart/x-mixed-replace');
    if (url.pathname === '/cgi-bin/recordFinder.cgi' && url.searchParams.get('name') === 'AccessControlCardRec') {
      const from = Number(url.searchParams.get('StartTime'));
      const to = Number(url.searchParams.get('EndTime'));
      const count = Number(url.searchParams.get('count') ?? 1024);
      const recs = this.records.filter((r) => r.UTC >= from && r.UTC <= to).slice(0, count);
      const lines = [`found=${recs.length}`];
      recs.forEach((r, i) => {
        lines.push(
          `records[${i}].RecNo=${r.RecNo}`,
          `records[${i}].CreateTime=${r.UTC}`,
          `records[${i}].CardNo=`,
          `records[${i}].UserID=${r.UserID}`,
          `records[${i}].Method=${r.Method}`,
          `records[${i}].Status=${r.Status}`,
          `records[${i}].Type=Entry`,
        );
      });
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end(lines.join('\r\n') + '\r\n');
    }
    res.writeHead(404);
    res.end('Error\r\nBad Request!\r\n');
  }
}
