import YAML from 'yaml';
import type { CameraConfig, SecretRef } from '../config/schema.js';
import type { DiscoveredCamera } from './discover.js';
import { profileOf } from './stream.js';

/**
 * The `cameras:` entries for what `discover` found, to paste into the config (as ONVIF Device
 * Manager and Hikvision SADP hand a technician the addresses): per camera an id, its ONVIF
 * address, the main stream's RTSP URL without credentials, the user name and the password as a
 * secret reference (a file or a variable, never the password itself). Cameras the config has
 * already and cameras that gave no stream URI are left out, each with a comment saying why.
 */
export function cameraSnippet(cams: DiscoveredCamera[], o: { username?: string; password?: SecretRef; existing: CameraConfig[] }): { yaml: string; entries: number } {
  const taken = new Set(o.existing.map((c) => c.id));
  const configured = (c: DiscoveredCamera) => o.existing.find((e) => (e.onvif && e.onvif.host === c.host && e.onvif.port === c.port) || (e.rtspUrl && hostOf(e.rtspUrl) === c.host && !e.onvif));
  const lines: string[] = [];
  const entries: string[] = [];
  for (const c of cams) {
    const where = `${c.host}:${c.port}`;
    const had = configured(c);
    if (had) {
      lines.push(`# ${where}: 配置中已有 / already in the config as ${had.id}`);
      continue;
    }
    const main = profileOf(c.profiles, 'main');
    if (!main?.streamUri) {
      lines.push(`# ${where}: 没有码流地址（${c.error ? '见上方说明' : '摄像机未给出'}），未列入 / no stream URI (${c.error ? 'see above' : 'the camera gave none'}): not included`);
      continue;
    }
    const id = uniqueId(c, taken);
    taken.add(id);
    const entry: Record<string, unknown> = {
      id,
      name: [c.manufacturer, c.model, c.serial].filter(Boolean).join(' ') || where,
      onvif: { host: c.host, port: c.port },
      rtspUrl: withoutCredentials(main.streamUri),
    };
    if (o.username) entry.username = o.username;
    if (o.password !== undefined) entry.password = o.password;
    const sub = profileOf(c.profiles, 'sub');
    let text = YAML.stringify([entry]).trimEnd();
    const fmt = (p: typeof main) => [p.encoding, p.width && p.height ? `${p.width}x${p.height}` : undefined, p.fps ? `${p.fps} fps` : undefined].filter(Boolean).join(' ');
    text += `\n  # ${t2('主码流', 'main stream')}: ${fmt(main)}`;
    if (sub?.streamUri) text += `\n  # ${t2('子码流', 'sub stream')}: ${withoutCredentials(sub.streamUri)} ${fmt(sub)}`;
    entries.push(text);
  }
  const yaml = [...lines, ...(entries.length ? ['cameras:', ...entries.map((e) => e.replace(/^/gm, '  '))] : [])].join('\n');
  return { yaml: `${yaml}\n`, entries: entries.length };
}

const t2 = (zh: string, en: string) => `${zh} / ${en}`;

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** The URL with any user name and password a camera put into it removed: the config holds those apart. */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

/** cam-<address> (dots and colons as dashes, the port when not 80), unique among `taken`. */
function uniqueId(c: DiscoveredCamera, taken: Set<string>): string {
  const base = `cam-${c.host.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}${c.port === 80 ? '' : `-p${c.port}`}`.slice(0, 60);
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  return id;
}
