import type { CameraConfig } from '../config/schema.js';
import { resolveSecret } from '../config/load.js';
import { describeCamera } from './onvif.js';
import { withCredentials } from '../recorder/url.js';
import { CameraError } from './errors.js';

/**
 * The RTSP URL of a camera configured by its ONVIF address: the first profile's stream URI,
 * asked on every (re)connect because cameras change it after a reboot or a settings change.
 */
export async function onvifStreamUrl(cam: CameraConfig, where: string): Promise<string> {
  const o = cam.onvif!;
  const username = o.username ?? cam.username;
  const password = resolveSecret(o.password ?? cam.password, `${where}.onvif.password`);
  const d = await describeCamera({ host: o.host, port: o.port, username, password });
  if (d.error) throw new CameraError(d.error.kind, d.error.kind === 'auth' ? `ONVIF auth failed: wrong user name or password (${d.error.message})` : `ONVIF: ${d.error.message}`);
  const uri = d.profiles.find((p) => p.streamUri)?.streamUri;
  if (!uri) throw new CameraError('protocol', 'ONVIF: the camera gave no RTSP stream URI');
  return withCredentials(uri, cam.username ?? username, resolveSecret(cam.password, `${where}.password`) ?? password);
}
