import crypto from 'node:crypto';
import dgram from 'node:dgram';
import http from 'node:http';
import type net from 'node:net';
import { TcpProxy } from '../proxy.js';
import { RtspServer, type RtspServerOptions } from '../rtsp/server.js';
import * as soap from './soap.js';
import { snapshotArgs } from '../../ffmpeg/args.js';
import { runFfmpegToBuffer } from '../../ffmpeg/run.js';

/**
 * A simulated ONVIF IP camera speaking the real protocols over real sockets: SOAP over HTTP
 * (device and media services, WS-Security UsernameToken or HTTP Digest), WS-Discovery over
 * UDP, and RTSP from a real GStreamer server behind a TCP proxy, so that it can be told to
 * stall, drop, restart, or run its clock off.
 */
export interface SimCameraOptions {
  username?: string;
  password?: string;
  /** 'wsse': WS-Security UsernameToken; 'digest': HTTP Digest only (Hikvision in digest mode) */
  auth?: 'wsse' | 'digest';
  /** camera clock minus real time, ms */
  clockOffsetMs?: number;
  /** host the camera writes into the URIs it hands out (cameras report their own idea of it) */
  reportHost?: string;
  device?: Partial<soap.DeviceInfo>;
  rtsp?: RtspServerOptions;
  /** WS-Discovery: bind address and port (multicast needs 0.0.0.0:3702 and joins 239.255.255.250) */
  discovery?: { address: string; port: number; multicast?: boolean };
  /** address the SOAP server listens on (default 127.0.0.1) */
  httpHost?: string;
  /**
   * A second, smaller stream as a second ONVIF profile (Hikvision's sub stream: profile 2,
   * served at /Streaming/Channels/102 unless `mount` says otherwise). Unset: one profile.
   */
  sub?: RtspServerOptions;
}

const REALM = 'sim-camera';

export class SimCamera {
  readonly urn = `urn:uuid:${crypto.randomUUID()}`;
  httpPort = 0;
  discoveryPort = 0;
  clockOffsetMs: number;
  /** requests seen, by action, for tests */
  readonly seen: string[] = [];
  private http?: http.Server;
  private sockets = new Set<net.Socket>();
  private udp?: dgram.Socket;
  private rtsp: RtspServer;
  private subRtsp?: RtspServer;
  private proxy?: TcpProxy;
  private httpStalled = false;
  private nonces = new Set<string>();
  private device: soap.DeviceInfo;

  constructor(private opts: SimCameraOptions = {}) {
    this.clockOffsetMs = opts.clockOffsetMs ?? 0;
    this.rtsp = new RtspServer(opts.rtsp ?? {});
    if (opts.sub) this.subRtsp = new RtspServer({ mount: '/Streaming/Channels/102', width: 320, height: 180, bitrateKbps: 256, ...opts.sub });
    this.device = { manufacturer: 'SimCam', model: 'SC-1080', firmware: 'V5.7.3 build 250901', serial: `SC${crypto.randomBytes(4).toString('hex').toUpperCase()}`, hardwareId: '88', ...opts.device };
  }

  get profile(): soap.VideoProfile {
    const r = this.opts.rtsp ?? {};
    return { token: 'main', name: 'mainStream', width: r.width ?? 640, height: r.height ?? 360, fps: r.fps ?? 25, gop: r.keyint ?? 25, bitrateKbps: r.bitrateKbps ?? 1024 };
  }

  /** Every profile GetProfiles lists: the main stream, then the sub stream when there is one. */
  get profiles(): soap.VideoProfile[] {
    const s = this.opts.sub;
    if (!s) return [this.profile];
    const d = { width: 320, height: 180, bitrateKbps: 256, ...s };
    return [this.profile, { token: 'sub', name: 'subStream', width: d.width, height: d.height, fps: d.fps ?? 25, gop: d.keyint ?? 25, bitrateKbps: d.bitrateKbps }];
  }

  /** The sub stream's RTSP URL (direct, no fault proxy); undefined without a sub stream. */
  get subRtspUrl(): string | undefined {
    return this.subRtsp?.url;
  }

  get serial(): string {
    return this.device.serial;
  }

  /** The RTSP URL as really reachable (through the fault proxy). */
  get rtspUrl(): string {
    return `rtsp://127.0.0.1:${this.proxy!.port}/cam`;
  }

  get deviceUrl(): string {
    return `http://127.0.0.1:${this.httpPort}/onvif/device_service`;
  }

  async start(httpPort = 0): Promise<this> {
    await this.rtsp.start();
    await this.subRtsp?.start();
    this.proxy = await new TcpProxy({ host: '127.0.0.1', port: this.rtsp.port }).start();
    this.http = http.createServer((req, res) => this.handle(req, res));
    this.http.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.http!.listen(httpPort, this.opts.httpHost ?? '127.0.0.1', resolve));
    this.httpPort = (this.http.address() as net.AddressInfo).port;
    if (this.opts.discovery) await this.startDiscovery(this.opts.discovery);
    return this;
  }

  async stop(): Promise<void> {
    this.udp?.close();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.http ? this.http.close(() => resolve()) : resolve()));
    await this.proxy?.stop();
    await this.rtsp.stop();
    await this.subRtsp?.stop();
  }

  /** Fault switches. */
  stall(): void {
    this.httpStalled = true;
    this.proxy?.setMode('stall');
  }

  drop(): void {
    this.proxy?.setMode('drop');
    for (const s of this.sockets) s.destroy();
    this.httpStalled = true;
  }

  resume(): void {
    this.httpStalled = false;
    this.proxy?.setMode('pass');
  }

  /** A reboot: gone for `downMs`, then back; its clock may come back reset (clockAfter). */
  async restart(downMs: number, clockAfterMs?: number): Promise<void> {
    this.drop();
    await new Promise((r) => setTimeout(r, downMs));
    if (clockAfterMs !== undefined) this.clockOffsetMs = clockAfterMs;
    this.resume();
  }

  shiftClock(ms: number): void {
    this.clockOffsetMs += ms;
  }

  private now(): Date {
    return new Date(Date.now() + this.clockOffsetMs);
  }

  private base(req: http.IncomingMessage): string {
    const host = this.opts.reportHost ?? req.headers.host?.split(':')[0] ?? '127.0.0.1';
    return `http://${host}:${this.httpPort}`;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.httpStalled) return; // hold the request: a hung camera
    if (req.method === 'GET' && req.url?.startsWith('/onvif/snapshot.jpg')) {
      // a real frame of the real stream, grabbed by ffmpeg
      runFfmpegToBuffer(snapshotArgs(`rtsp://127.0.0.1:${this.rtsp.port}/cam`))
        .then((jpg) => {
          res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': jpg.length });
          res.end(jpg);
        })
        .catch((err) => {
          res.writeHead(503, { 'Content-Type': 'text/plain' });
          res.end(String((err as Error).message));
        });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const action = /<(?:\w+:)?Body[^>]*>\s*<(?:\w+:)?(\w+)/.exec(body)?.[1] ?? 'unknown';
      this.seen.push(action);
      const send = (status: number, xml: string, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'Content-Type': 'application/soap+xml; charset=utf-8', ...headers });
        res.end(xml);
      };
      // the date is public: clients need it to build WS-Security timestamps
      if (action !== 'GetSystemDateAndTime') {
        const denied = this.checkAuth(req, body);
        if (denied === 'digest-challenge') {
          const nonce = crypto.randomBytes(16).toString('hex');
          this.nonces.add(nonce);
          return send(401, soap.fault('ter:NotAuthorized', 'Unauthorized'), { 'WWW-Authenticate': `Digest realm="${REALM}", qop="auth", nonce="${nonce}", algorithm=MD5` });
        }
        if (denied) return send(400, soap.fault('ter:NotAuthorized', 'Sender not Authorized'));
      }
      const base = this.base(req);
      const host = this.opts.reportHost ?? '127.0.0.1';
      switch (action) {
        case 'GetSystemDateAndTime':
          return send(200, soap.systemDateAndTime(this.now()));
        case 'GetServices':
          return send(200, soap.services(base));
        case 'GetCapabilities':
          return send(200, soap.capabilities(base));
        case 'GetDeviceInformation':
          return send(200, soap.deviceInformation(this.device));
        case 'GetVideoSources':
          return send(200, soap.videoSources(this.profile));
        case 'GetProfiles':
          return send(200, soap.profiles(this.profiles));
        case 'GetStreamUri': {
          const token = /<(?:\w+:)?ProfileToken[^>]*>([^<]*)</.exec(body)?.[1];
          if (token === 'sub' && this.subRtsp) {
            return send(200, soap.mediaUri('GetStreamUriResponse', `rtsp://${host}:${this.subRtsp.port}${this.subRtsp.url.replace(/^rtsp:\/\/[^/]+/, '')}`));
          }
          if (token && token !== 'main') return send(400, soap.fault('ter:InvalidArgVal', `no profile ${token}`));
          return send(200, soap.mediaUri('GetStreamUriResponse', `rtsp://${host}:${this.proxy!.port}/cam`));
        }
        case 'GetSnapshotUri':
          return send(200, soap.mediaUri('GetSnapshotUriResponse', `${base}/onvif/snapshot.jpg`));
        default:
          return send(400, soap.fault('ter:ActionNotSupported', `${action} not supported by the simulator`));
      }
    });
  }

  /** undefined: allowed; 'digest-challenge': send a 401 challenge; 'denied': NotAuthorized fault. */
  private checkAuth(req: http.IncomingMessage, body: string): undefined | 'digest-challenge' | 'denied' {
    const { username, password } = this.opts;
    if (!username) return undefined;
    if ((this.opts.auth ?? 'wsse') === 'digest') {
      const h = req.headers.authorization;
      if (!h?.startsWith('Digest ')) return 'digest-challenge';
      const p = Object.fromEntries([...h.slice(7).matchAll(/(\w+)="?([^",]*)"?/g)].map((m) => [m[1], m[2]]));
      const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');
      const ha1 = md5(`${p.username}:${REALM}:${password}`);
      const ha2 = md5(`${req.method}:${p.uri}`);
      const expect = md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`);
      if (p.username !== username || !this.nonces.has(p.nonce) || p.response !== expect) return 'digest-challenge';
      return undefined;
    }
    const user = /<(?:\w+:)?Username>([^<]*)</.exec(body)?.[1];
    const digest = /<(?:\w+:)?Password[^>]*>([^<]*)</.exec(body)?.[1];
    const nonce = /<(?:\w+:)?Nonce[^>]*>([^<]*)</.exec(body)?.[1];
    const created = /<(?:\w+:)?Created[^>]*>([^<]*)</.exec(body)?.[1];
    if (!user || !digest || !nonce || !created) return 'denied';
    const expect = crypto
      .createHash('sha1')
      .update(Buffer.concat([Buffer.from(nonce, 'base64'), Buffer.from(created), Buffer.from(password ?? '')]))
      .digest('base64');
    // replay protection as on Axis cameras: the token must be fresh by the camera's own clock
    const age = Math.abs(this.now().getTime() - Date.parse(created));
    if (user !== username || digest !== expect || !(age < 5 * 60_000)) return 'denied';
    return undefined;
  }

  private async startDiscovery(d: { address: string; port: number; multicast?: boolean }): Promise<void> {
    const udp = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this.udp = udp;
    udp.on('message', (msg, rinfo) => {
      const text = msg.toString('utf8');
      if (!/<(?:\w+:)?Probe[\s>]/.test(text)) return;
      const types = /<(?:\w+:)?Types[^>]*>([^<]*)</.exec(text)?.[1] ?? '';
      if (types && !/NetworkVideoTransmitter/.test(types)) return;
      const relatesTo = /<(?:\w+:)?MessageID[^>]*>([^<]*)</.exec(text)?.[1] ?? '';
      const host = this.opts.reportHost ?? '127.0.0.1';
      const reply = soap.probeMatches({
        relatesTo,
        urn: this.urn,
        xaddr: `http://${host}:${this.httpPort}/onvif/device_service`,
        scopes: [
          'onvif://www.onvif.org/type/video_encoder',
          `onvif://www.onvif.org/name/${this.device.model}`,
          `onvif://www.onvif.org/hardware/${this.device.model}`,
          'onvif://www.onvif.org/location/classroom',
        ],
      });
      udp.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(d.port, d.address, () => {
        if (d.multicast) udp.addMembership('239.255.255.250');
        resolve();
      });
    });
    this.discoveryPort = udp.address().port;
  }
}
