import { describeCamera, type CameraDescription } from '../cameras/onvif.js';
import { probeStream, type StreamProbe } from '../cameras/probe.js';
import { resolveSecret } from '../config/load.js';
import type { CameraConfig } from '../config/schema.js';
import { maskUrl } from '../core/log.js';
import { withCredentials } from '../cameras/stream.js';
import { needsConfig, type Bilingual, type Check, type CheckStatus } from './check.js';

/** Same thresholds as `classroom-agent probe` (agent/cli/commands/cameras.ts). */
export const KEYFRAME_WARN_SEC = 2;
export const SKEW_WARN_MS = 2000;
/** Each camera gets this long in all (ONVIF + a few seconds of stream); cameras run concurrently. */
export const CAMERA_BUDGET_MS = 15_000;
const PROBE_SECONDS = 4;

export interface CameraVerdict {
  id: string;
  status: CheckStatus;
  detail: string;
  fix?: Bilingual;
}

const fmtSkew = (ms: number) => `${ms >= 0 ? '+' : ''}${(ms / 1000).toFixed(1)} s`;
const worst = (a: CheckStatus, b: CheckStatus): CheckStatus => (a === 'fail' || b === 'fail' ? 'fail' : a === 'warn' || b === 'warn' ? 'warn' : 'ok');

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** One camera: reachable, authenticated (ONVIF), streaming (RTSP probe), keyframe interval, clock skew. */
export async function checkCamera(cam: CameraConfig, where: string, budgetMs = CAMERA_BUDGET_MS, ffprobePath?: string): Promise<CameraVerdict> {
  const started = Date.now();
  const parts: string[] = [];
  const fixes: Bilingual[] = [];
  let status: CheckStatus = 'ok';
  let d: CameraDescription | undefined;
  let username = cam.username;
  let password: string | undefined;
  try {
    password = resolveSecret(cam.password, `${where}.password`);
  } catch (err) {
    return {
      id: cam.id,
      status: 'fail',
      detail: `password: ${(err as Error).message}`,
      fix: { zh: `修正 ${where}.password（环境变量或文件是否存在）`, en: `fix ${where}.password (does the env variable or file exist?)` },
    };
  }
  if (cam.onvif) {
    const o = cam.onvif;
    username = o.username ?? cam.username;
    let onvifPassword: string | undefined;
    try {
      onvifPassword = resolveSecret(o.password ?? cam.password, `${where}.onvif.password`);
    } catch (err) {
      return { id: cam.id, status: 'fail', detail: `password: ${(err as Error).message}`, fix: { zh: `修正 ${where}.onvif.password`, en: `fix ${where}.onvif.password` } };
    }
    d = await timeout(describeCamera({ host: o.host, port: o.port, username, password: onvifPassword, timeoutMs: 5000 }), Math.min(8000, budgetMs), 'ONVIF');
    if (d.error?.kind === 'unreachable') {
      return {
        id: cam.id,
        status: 'fail',
        detail: `unreachable at ${o.host}:${o.port} (${d.error.message})`,
        fix: {
          zh: `摄像机 ${cam.id} 无法连接：检查电源和网线，ping ${o.host}，确认 ONVIF 端口 ${o.port} 正确且摄像机已开启 ONVIF；可用 classroom-agent discover 查找`,
          en: `camera ${cam.id} unreachable: check power and cable, ping ${o.host}, check ONVIF port ${o.port} and that ONVIF is turned on in the camera; classroom-agent discover finds cameras`,
        },
      };
    }
    if (d.error?.kind === 'auth') {
      return {
        id: cam.id,
        status: 'fail',
        detail: `reachable, but wrong user name or password (user ${username ?? '(none)'})`,
        fix: {
          zh: `摄像机 ${cam.id} 用户名或密码错误：在 ${where}.onvif.username / password 填写摄像机的 ONVIF 账号（海康等需在摄像机网页中单独开启 ONVIF 用户）`,
          en: `camera ${cam.id}: wrong user name or password: set the camera's ONVIF account in ${where}.onvif.username / password (Hikvision and others need an ONVIF user created in the camera's web page)`,
        },
      };
    }
    if (d.error) {
      return {
        id: cam.id,
        status: 'fail',
        detail: `ONVIF error: ${d.error.message}`,
        fix: {
          zh: `摄像机 ${cam.id} 的 ONVIF 应答异常：升级摄像机固件，或在 ${where}.rtspUrl 直接填写 RTSP 地址`,
          en: `camera ${cam.id} answers ONVIF oddly: update its firmware, or set ${where}.rtspUrl directly`,
        },
      };
    }
    parts.push(`ONVIF ok (${[d.manufacturer, d.model].filter(Boolean).join(' ') || 'model unknown'}, ${d.auth})`);
    if (d.clockSkewMs !== undefined) {
      parts.push(`clock skew ${fmtSkew(d.clockSkewMs)}`);
      if (Math.abs(d.clockSkewMs) > SKEW_WARN_MS) {
        status = worst(status, 'warn');
        fixes.push({
          zh: `摄像机 ${cam.id} 时钟偏差 ${fmtSkew(d.clockSkewMs)}：在摄像机上开启 NTP（指向本机或学校 NTP 服务器）或校准时间`,
          en: `camera ${cam.id} clock off by ${fmtSkew(d.clockSkewMs)}: turn on NTP in the camera (pointing at this box or the school's NTP server) or set its time`,
        });
      }
    }
    password = resolveSecret(cam.password, `${where}.password`) ?? onvifPassword;
  }
  let url: string | undefined;
  if (cam.rtspUrl) url = withCredentials(cam.rtspUrl, cam.username, password);
  else {
    const uri = d?.profiles.find((p) => p.streamUri)?.streamUri;
    if (!uri) {
      return {
        id: cam.id,
        status: 'fail',
        detail: `${parts.join(', ')}; the camera gave no RTSP stream URI`,
        fix: { zh: `在 ${where}.rtspUrl 填写摄像机的 RTSP 地址`, en: `set the camera's RTSP address in ${where}.rtspUrl` },
      };
    }
    url = withCredentials(uri, cam.username ?? username, password);
  }
  let p: StreamProbe;
  try {
    const left = Math.max(3000, budgetMs - (Date.now() - started));
    p = await timeout(probeStream(url, { transport: cam.transport, seconds: PROBE_SECONDS, ffprobePath }), left, 'RTSP');
  } catch (err) {
    // ffprobe's message quotes the URL, password included
    const msg = maskUrl((err as Error).message.trim().split('\n').pop() ?? '');
    const auth = /401|unauthori[sz]ed/i.test(msg);
    return {
      id: cam.id,
      status: 'fail',
      detail: `${parts.length ? `${parts.join(', ')}; ` : ''}stream ${maskUrl(url)} ${auth ? 'refused: wrong user name or password' : `not streaming: ${msg}`}`,
      fix: auth
        ? { zh: `摄像机 ${cam.id} 的 RTSP 用户名或密码错误：修改 ${where}.username / password`, en: `camera ${cam.id}: wrong RTSP user name or password: fix ${where}.username / password` }
        : {
            zh: `摄像机 ${cam.id} 没有视频流：用 classroom-agent probe ${cam.id} 复查，确认 RTSP 端口（通常 554）和码流路径，必要时重启摄像机`,
            en: `camera ${cam.id} sends no video: recheck with classroom-agent probe ${cam.id}, check the RTSP port (usually 554) and stream path, reboot the camera if needed`,
          },
    };
  }
  if (!p.packets) {
    return {
      id: cam.id,
      status: 'fail',
      detail: `${parts.join(', ')}; stream ${maskUrl(url)} opened but sent no video packets in ${PROBE_SECONDS} s`,
      fix: { zh: `摄像机 ${cam.id} 连上但无画面：重启摄像机，检查编码设置`, en: `camera ${cam.id} connects but sends no picture: reboot it and check its encoder settings` },
    };
  }
  parts.push(`streaming ${p.codec ?? '?'} ${p.width && p.height ? `${p.width}x${p.height}` : '?'} ${p.fps ?? '?'} fps ${p.bitrateKbps ?? '?'} kbit/s`);
  const k = p.keyframeIntervalMaxSec ?? p.keyframeIntervalSec;
  parts.push(`keyframe interval ${k ?? '?'} s`);
  if (k !== undefined && k > KEYFRAME_WARN_SEC) {
    status = worst(status, 'warn');
    fixes.push({
      zh: `摄像机 ${cam.id} 关键帧间隔 ${k} 秒：在编码设置中把 I 帧间隔设为与帧率相同（1 秒），关闭 H.264+/智能编码`,
      en: `camera ${cam.id} keyframe interval ${k} s: set the I-frame interval equal to the frame rate (1 s) and turn off H.264+/smart codec`,
    });
  }
  return { id: cam.id, status, detail: parts.join(', '), ...(fixes.length ? { fix: { zh: fixes.map((f) => f.zh).join('；'), en: fixes.map((f) => f.en).join('; ') } } : {}) };
}

export const camerasCheck: Check = {
  id: 'cameras',
  title: { zh: '摄像机', en: 'cameras' },
  async run(env) {
    const skip = needsConfig(env);
    if (skip) return skip;
    const cams = env.cfg!.cameras.map((c, i) => ({ c, where: `cameras[${i}]` })).filter((x) => x.c.enabled);
    if (!cams.length)
      return {
        status: 'warn',
        detail: 'no camera configured',
        fix: { zh: '用 classroom-agent discover 查找摄像机，并写入配置 cameras', en: 'find cameras with classroom-agent discover and add them under cameras in the config' },
      };
    // concurrently: a dead camera costs its budget once, not once per camera
    const vs = await Promise.all(
      cams.map(({ c, where }) =>
        checkCamera(c, where, CAMERA_BUDGET_MS, env.cfg!.recorder.ffprobePath).catch(
          (err: Error): CameraVerdict => ({ id: c.id, status: 'fail', detail: err.message, fix: { zh: `用 classroom-agent probe ${c.id} 复查`, en: `recheck with classroom-agent probe ${c.id}` } }),
        ),
      ),
    );
    const status = vs.reduce<CheckStatus>((s, v) => worst(s, v.status), 'ok');
    const fixes = vs.filter((v) => v.fix);
    return {
      status,
      detail: vs.map((v) => `${v.id} [${v.status}]: ${v.detail}`).join(' | '),
      ...(fixes.length ? { fix: { zh: fixes.map((v) => v.fix!.zh).join('；'), en: fixes.map((v) => v.fix!.en).join('; ') } } : {}),
    };
  },
};
