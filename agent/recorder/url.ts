import type { CameraConfig } from '../config/schema.js';
import { resolveSecret } from '../config/load.js';

/**
 * The RTSP URL to record for a camera: the configured rtspUrl (with the camera's credentials
 * put in when the URL has none), else the stream URI the camera gives over ONVIF.
 */
export async function streamUrlOf(cam: CameraConfig, where: string): Promise<string> {
  if (cam.rtspUrl) return withCredentials(cam.rtspUrl, cam.username, resolveSecret(cam.password, `${where}.password`));
  const { onvifStreamUrl } = await import('../cameras/stream.js');
  return onvifStreamUrl(cam, where);
}

export function withCredentials(url: string, user?: string, pass?: string): string {
  if (!user) return url;
  const u = new URL(url);
  if (u.username) return url;
  u.username = encodeURIComponent(user);
  if (pass !== undefined) u.password = encodeURIComponent(pass);
  return u.toString();
}
