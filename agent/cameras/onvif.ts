import { createRequire } from 'node:module';

/**
 * The ONVIF client, behind a small interface: the rest of the agent sees CameraDescription,
 * never the `onvif` package (0.8.x, callback API, loosely typed).
 */
const req = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const { Cam } = req('onvif') as { Cam: new (opts: Record<string, unknown>) => Any };

export interface CameraProfile {
  token: string;
  name: string;
  encoding?: string;
  width?: number;
  height?: number;
  fps?: number;
  bitrateKbps?: number;
  gop?: number;
  streamUri?: string;
  snapshotUri?: string;
}

export interface CameraDescription {
  host: string;
  port: number;
  xaddr: string;
  manufacturer?: string;
  model?: string;
  firmware?: string;
  serial?: string;
  hardwareId?: string;
  profiles: CameraProfile[];
  /** camera clock minus ours, ms (the camera gives whole seconds: ±1 s) */
  clockSkewMs?: number;
  auth: 'none' | 'ws-security' | 'digest';
  /** set when the camera answered but would not let us in, or failed later */
  error?: { kind: 'auth' | 'unreachable' | 'protocol'; message: string /** auth: no credentials were given at all (not wrong ones) */; missing?: boolean };
}

export class OnvifAuthError extends Error {}

const AUTH_RE = /not ?authori[sz]ed|unauthori[sz]ed|authentication failed|401|wsse|password/i;

function call<T>(cam: Any, method: string, ...args: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    cam[method](...args, (err: Error | null, data: T) => (err ? reject(err) : resolve(data)));
  });
}

/** Put the host we dialled into a URI the camera gave (it reports its own idea of its address). */
export function rewriteHost(uri: string, host: string): string {
  try {
    const u = new URL(uri);
    u.hostname = host;
    return u.toString();
  } catch {
    return uri;
  }
}

const num = (v: unknown) => (v === undefined || v === '' ? undefined : Number(v));

export interface DescribeOptions {
  host: string;
  port: number;
  path?: string;
  username?: string;
  password?: string;
  timeoutMs?: number;
}

/** Ask one camera everything discover/probe/record need. Never throws: problems go in `error`. */
export async function describeCamera(o: DescribeOptions): Promise<CameraDescription> {
  const path = o.path ?? '/onvif/device_service';
  const out: CameraDescription = { host: o.host, port: o.port, xaddr: `http://${o.host}:${o.port}${path}`, profiles: [], auth: o.username ? 'ws-security' : 'none' };
  const mk = (useWSSecurity: boolean) =>
    new Cam({ hostname: o.host, port: o.port, path, username: o.username, password: o.password, timeout: o.timeoutMs ?? 5000, autoconnect: false, preserveAddress: true, useWSSecurity });
  let cam = mk(true);
  try {
    const t0 = Date.now();
    const camDate = await call<Date>(cam, 'getSystemDateAndTime');
    const t1 = Date.now();
    // the camera reports whole seconds: its clock is somewhere in [d, d+1s); take the middle
    out.clockSkewMs = Math.round(camDate.getTime() + 500 - (t0 + t1) / 2);
  } catch (err) {
    out.error = { kind: 'unreachable', message: (err as Error).message };
    return out;
  }
  try {
    await call(cam, 'connect');
  } catch (err) {
    if (!o.username || !AUTH_RE.test((err as Error).message)) {
      const auth = AUTH_RE.test((err as Error).message);
      // no user name was sent: the camera asks for one, nothing was "wrong"
      out.error =
        auth && !o.username
          ? { kind: 'auth', missing: true, message: `the camera needs a user name and password, none was given (${(err as Error).message})` }
          : { kind: auth ? 'auth' : 'protocol', message: (err as Error).message };
      return out;
    }
    // some cameras (Hikvision in digest mode) refuse WS-Security: try HTTP Digest alone
    cam = mk(false);
    try {
      await call(cam, 'connect');
      out.auth = 'digest';
    } catch (err2) {
      out.error = { kind: AUTH_RE.test((err2 as Error).message) ? 'auth' : 'protocol', message: (err2 as Error).message };
      return out;
    }
  }
  try {
    const info = await call<Any>(cam, 'getDeviceInformation');
    Object.assign(out, { manufacturer: info?.manufacturer, model: info?.model, firmware: info?.firmwareVersion, serial: info?.serialNumber, hardwareId: info?.hardwareId });
  } catch {
    /* optional */
  }
  for (const p of (cam.profiles ?? []) as Any[]) {
    const vec = p.videoEncoderConfiguration ?? {};
    const prof: CameraProfile = {
      token: p.$?.token,
      name: p.name ?? p.$?.token,
      encoding: vec.encoding,
      width: num(vec.resolution?.width),
      height: num(vec.resolution?.height),
      fps: num(vec.rateControl?.frameRateLimit),
      bitrateKbps: num(vec.rateControl?.bitrateLimit),
      gop: num(vec.H264?.govLength ?? vec.h264?.govLength),
    };
    try {
      const s = await call<Any>(cam, 'getStreamUri', { protocol: 'RTSP', profileToken: prof.token });
      if (s?.uri) prof.streamUri = rewriteHost(s.uri, o.host);
    } catch {
      /* profile without stream */
    }
    try {
      const s = await call<Any>(cam, 'getSnapshotUri', { profileToken: prof.token });
      if (s?.uri) prof.snapshotUri = rewriteHost(s.uri, o.host);
    } catch {
      /* no snapshots */
    }
    out.profiles.push(prof);
  }
  return out;
}
