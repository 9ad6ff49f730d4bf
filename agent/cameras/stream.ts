import type { CameraConfig } from '../config/schema.js';

/** Placeholder replaced by the ONVIF client (see onvif.ts). */
export async function onvifStreamUrl(cam: CameraConfig, where: string): Promise<string> {
  throw new Error(`${where}: ONVIF stream lookup not available for ${cam.id}`);
}
