import type { CameraConfig } from '../config/schema.js';
import { resolveSecret } from '../config/load.js';
import { describeCamera } from './onvif.js';
import { CameraError } from './errors.js';

export type StreamChoice = 'main' | 'sub';

/**
 * The one composer of a camera's stream URL and credentials (the recorder, probe and doctor use
 * it): the configured rtspUrl (subRtspUrl for the sub stream) with the camera's credentials put
 * in when the URL has none, else the stream URI the camera gives over ONVIF (its first profile
 * for main, its second for sub). `stream` defaults to the one the camera is set to record.
 */
export async function streamUrlOf(cam: CameraConfig, where: string, stream: StreamChoice = cam.stream ?? 'main'): Promise<string> {
  const configured = stream === 'sub' ? cam.subRtspUrl : cam.rtspUrl;
  if (configured) return withCredentials(configured, cam.username, resolveSecret(cam.password, `${where}.password`));
  if (!cam.onvif) throw new CameraError('protocol', stream === 'sub' ? 'no sub stream: set subRtspUrl, or onvif so the camera can be asked' : 'no stream: set rtspUrl or onvif');
  return onvifStreamUrl(cam, where, stream);
}

/** Put a user name and password into a URL that has none (percent-encoded). */
export function withCredentials(url: string, user?: string, pass?: string): string {
  if (!user) return url;
  const u = new URL(url);
  if (u.username) return url;
  u.username = encodeURIComponent(user);
  if (pass !== undefined) u.password = encodeURIComponent(pass);
  return u.toString();
}

/**
 * The RTSP URL of a camera configured by its ONVIF address: the first profile's stream URI (main)
 * or the second's (sub: cameras list the main stream first, then the sub stream), asked on every
 * (re)connect because cameras change it after a reboot or a settings change.
 */
export async function onvifStreamUrl(cam: CameraConfig, where: string, stream: StreamChoice = 'main'): Promise<string> {
  const o = cam.onvif!;
  const username = o.username ?? cam.username;
  const password = resolveSecret(o.password ?? cam.password, `${where}.onvif.password`);
  const d = await describeCamera({ host: o.host, port: o.port, username, password });
  if (d.error) throw new CameraError(d.error.kind, d.error.kind === 'auth' ? `ONVIF auth failed: wrong user name or password (${d.error.message})` : `ONVIF: ${d.error.message}`);
  const uris = d.profiles.map((p) => p.streamUri).filter((u): u is string => !!u);
  const uri = stream === 'sub' ? uris[1] : uris[0];
  if (!uri) throw new CameraError('protocol', stream === 'sub' ? 'ONVIF: the camera offers no second (sub) stream; set stream: main' : 'ONVIF: the camera gave no RTSP stream URI');
  return withCredentials(uri, cam.username ?? username, resolveSecret(cam.password, `${where}.password`) ?? password);
}
