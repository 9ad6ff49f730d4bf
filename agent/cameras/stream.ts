import type { CameraConfig } from '../config/schema.js';
import { resolveSecret } from '../config/load.js';
import { describeCamera, type CameraProfile } from './onvif.js';
import { CameraError } from './errors.js';
import { subStreamUrl } from './substream-url.js';

export { subStreamUrl };

/** Which of a camera's streams: the main (full resolution) or the sub (smaller) stream. */
export type StreamChoice = 'main' | 'sub';

/**
 * The one composer of a camera's stream URL and credentials (the recorder, probe and doctor use
 * it): the configured rtspUrl with the camera's credentials put in when the URL has none, else
 * the stream URI the camera gives over ONVIF. The sub stream is subRtspUrl when set, else the
 * vendor's URL convention applied to rtspUrl (subStreamUrl), else the camera's second ONVIF
 * profile. `stream` defaults to the one the camera is set to record.
 */
export async function streamUrlOf(cam: CameraConfig, where: string, stream: StreamChoice = cam.stream ?? 'main'): Promise<string> {
  const creds = (url: string) => withCredentials(url, cam.username, resolveSecret(cam.password, `${where}.password`));
  if (stream === 'sub' && cam.subRtspUrl) return creds(cam.subRtspUrl);
  if (cam.rtspUrl) {
    const url = stream === 'main' ? cam.rtspUrl : subStreamUrl(cam.rtspUrl);
    if (url) return creds(url);
    if (!cam.onvif) {
      throw new CameraError(
        'protocol',
        `the sub stream of ${where}.rtspUrl is unknown: its path follows no known convention (Hikvision /Streaming/Channels/101, Dahua subtype=0); set ${where}.subRtspUrl, or give the camera an onvif address`,
      );
    }
  }
  if (!cam.onvif) throw new CameraError('protocol', 'no stream: set rtspUrl or onvif');
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
 * The ONVIF profile of a stream: ONVIF names no main or sub, but cameras list the main stream's
 * profile first and the sub stream's second (Hikvision Profile_1/Profile_2, Dahua MediaProfile000/001).
 */
export function profileOf(profiles: CameraProfile[], stream: StreamChoice): CameraProfile | undefined {
  const withUri = profiles.filter((p) => p.streamUri);
  return stream === 'main' ? withUri[0] : withUri[1];
}

/**
 * The RTSP URL of a camera configured by its ONVIF address: the chosen profile's stream URI,
 * asked on every (re)connect because cameras change it after a reboot or a settings change.
 */
export async function onvifStreamUrl(cam: CameraConfig, where: string, stream: StreamChoice = 'main'): Promise<string> {
  const o = cam.onvif!;
  const username = o.username ?? cam.username;
  const password = resolveSecret(o.password ?? cam.password, `${where}.onvif.password`);
  const d = await describeCamera({ host: o.host, port: o.port, username, password });
  if (d.error) {
    throw new CameraError(
      d.error.kind,
      d.error.kind === 'auth' ? `ONVIF auth failed: ${username ? 'wrong user name or password' : 'no user name configured'} (${d.error.message})` : `ONVIF: ${d.error.message}`,
      d.error.kind === 'auth' && !username,
    );
  }
  const uri = profileOf(d.profiles, stream)?.streamUri;
  if (!uri) {
    throw new CameraError(
      'protocol',
      stream === 'sub'
        ? `ONVIF: the camera lists ${d.profiles.length} profile(s) with a stream URI, no second one for the sub stream; set stream: main, or subRtspUrl`
        : 'ONVIF: the camera gave no RTSP stream URI',
    );
  }
  return withCredentials(uri, cam.username ?? username, resolveSecret(cam.password, `${where}.password`) ?? password);
}
