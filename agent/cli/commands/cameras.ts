import { CameraError } from '../../cameras/errors.js';
import type { Command } from 'commander';
import { discover, type DiscoveredCamera } from '../../cameras/discover.js';
import { describeCamera } from '../../cameras/onvif.js';
import { probeStream, type StreamProbe } from '../../cameras/probe.js';
import { resolveSecret } from '../../config/load.js';
import { InputError } from '../../core/errors.js';
import { maskUrl } from '../../core/log.js';
import { streamUrlOf } from '../../cameras/stream.js';
import { intArg, intListArg } from '../options.js';
import { action, configOf, EXIT, langOf } from '../context.js';
import { t, type Lang } from '../i18n.js';

const KEYFRAME_WARN_SEC = 2;
const SKEW_WARN_MS = 2000;

const fmtSkew = (ms: number) => `${ms >= 0 ? '+' : ''}${(ms / 1000).toFixed(1)} s`;

export function skewWarning(lang: Lang, skewMs: number | undefined): string | undefined {
  if (skewMs === undefined || Math.abs(skewMs) <= SKEW_WARN_MS) return undefined;
  return t(
    lang,
    `摄像机时钟与本机相差 ${fmtSkew(skewMs)}（超过 2 秒）：画面上的时间与录像索引对不上，WS-Security 登录也可能失败。请在摄像机上开启 NTP 或校准时间。`,
    `The camera's clock is off by ${fmtSkew(skewMs)} (more than 2 s): the time shown in the picture will not match the recording index, and WS-Security login may fail. Turn on NTP on the camera or set its time.`,
  );
}

export function keyframeWarning(lang: Lang, p: StreamProbe): string | undefined {
  const k = p.keyframeIntervalMaxSec ?? p.keyframeIntervalSec;
  if (k === undefined || k <= KEYFRAME_WARN_SEC) return undefined;
  return t(
    lang,
    `关键帧间隔 ${k} 秒（超过 2 秒）：录像只能在关键帧处切分，断电或崩溃时丢失的画面更多。请在摄像机编码设置中把 I 帧间隔设为与帧率相同（1 秒），并关闭 H.264+/智能编码。`,
    `Keyframe interval ${k} s (more than 2 s): recordings can only be cut at keyframes, and a crash or power cut loses more video. In the camera's encoder settings set the I-frame interval equal to the frame rate (1 s) and turn off H.264+/smart codec.`,
  );
}

function printCamera(lang: Lang, c: DiscoveredCamera, i: number): void {
  const w = (s: string) => process.stdout.write(`${s}\n`);
  w(`${i + 1}. ${c.host}:${c.port}  ${[c.manufacturer, c.model].filter(Boolean).join(' ') || t(lang, '（型号未知）', '(model unknown)')}`);
  if (c.firmware || c.serial) w(`   ${t(lang, '固件', 'firmware')} ${c.firmware ?? '-'}  ${t(lang, '序列号', 'serial')} ${c.serial ?? '-'}`);
  w(`   ${t(lang, '发现方式', 'found by')}: ${c.via.map((v) => (v === 'multicast' ? t(lang, '组播', 'multicast') : t(lang, '单播探测', 'unicast probe'))).join(', ')}${c.urn ? `  ${c.urn}` : ''}`);
  if (c.clockSkewMs !== undefined) w(`   ${t(lang, '时钟偏差', 'clock skew')}: ${fmtSkew(c.clockSkewMs)}`);
  const sw = skewWarning(lang, c.clockSkewMs);
  if (sw) w(`   ⚠ ${sw}`);
  if (c.error?.kind === 'auth')
    w(
      `   ✗ ${t(lang, '用户名或密码错误：请在配置 discovery.username / discovery.password 中填写摄像机的账号。', 'Wrong user name or password: set the camera account in discovery.username / discovery.password.')}`,
    );
  else if (c.error) w(`   ✗ ${t(lang, '无法读取摄像机信息', 'Could not read the camera')}: ${c.error.message}`);
  for (const p of c.profiles) {
    const fmt = [p.encoding, p.width && p.height ? `${p.width}x${p.height}` : undefined, p.fps ? `${p.fps} fps` : undefined, p.bitrateKbps ? `${p.bitrateKbps} kbit/s` : undefined]
      .filter(Boolean)
      .join(' ');
    w(`   ${t(lang, '码流', 'profile')} ${p.token}: ${fmt}`);
    if (p.streamUri) w(`     RTSP: ${maskUrl(p.streamUri)}`);
    if (p.snapshotUri) w(`     ${t(lang, '快照', 'snapshot')}: ${maskUrl(p.snapshotUri)}`);
  }
}

/** A camera problem in plain words with what to do, by its kind (never a raw library message alone). */
export function cameraProblem(lang: Lang, err: CameraError, target: string): string {
  const fix =
    err.kind === 'auth'
      ? t(
          lang,
          '摄像机拒绝了用户名或密码：检查配置中的 username / password（海康等需在摄像机网页中另建 ONVIF 用户）',
          "the camera refused the user name or password: check username / password in the config (Hikvision and others need an ONVIF user created in the camera's web page)",
        )
      : err.kind === 'unreachable'
        ? t(
            lang,
            `摄像机没有应答：检查电源和网线，ping 它的地址，确认端口；classroom-agent discover 可查找摄像机`,
            `the camera does not answer: check its power and cable, ping its address, check the port; classroom-agent discover finds cameras`,
          )
        : t(
            lang,
            `摄像机的应答不可用：升级固件，或在配置中直接填写 rtspUrl；用 classroom-agent probe ${target} 复查`,
            `the camera's answer cannot be used: update its firmware, or set rtspUrl in the config; recheck with classroom-agent probe ${target}`,
          );
  return `${fix} (${err.message})`;
}

export function register(program: Command): void {
  program
    .command('discover')
    .description('查找网络中的 ONVIF 摄像机（组播 + 按地址段单播探测）/ find ONVIF cameras (multicast + unicast probe of address ranges)')
    .option('--json', 'JSON')
    .option('--range <range...>', '探测地址段，覆盖配置 / address ranges to probe, overrides discovery.ranges (192.168.1.1-254, 10.0.0.0/24)')
    .option('--port <port...>', '探测端口，覆盖配置 / ports to probe, overrides discovery.ports', intListArg(1, 65535))
    .option('--no-multicast', '不发组播 / skip WS-Discovery multicast')
    .option('--timeout <ms>', '等待应答毫秒数 / ms to wait for answers', intArg(1, 600_000))
    .action(
      action(async (opts: { json?: boolean; range?: string[]; port?: number[]; multicast?: boolean; timeout?: number }, cmd: Command) => {
        const lang = langOf(cmd);
        const cfg = configOf(cmd);
        const d = { ...cfg.discovery };
        if (opts.range) d.ranges = opts.range;
        if (opts.port) d.ports = opts.port;
        if (opts.multicast === false) d.multicast = false;
        if (opts.timeout) d.timeoutMs = opts.timeout;
        const cams = await discover({ ...cfg, discovery: d });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(cams, null, 2)}\n`);
        } else {
          process.stdout.write(t(lang, `找到 ${cams.length} 台摄像机\n`, `Found ${cams.length} camera(s)\n`));
          cams.forEach((c, i) => printCamera(lang, c, i));
          if (!cams.length) {
            process.stdout.write(
              t(
                lang,
                '没有找到摄像机。组播不能跨 VLAN：请在配置 discovery.ranges 中填写摄像机所在的地址段（如 192.168.1.1-254），或用 --range 指定。\n',
                "No camera found. Multicast does not cross VLANs: put the cameras' address range in discovery.ranges (e.g. 192.168.1.1-254) or pass --range.\n",
              ),
            );
          }
        }
        return cams.length ? EXIT.OK : EXIT.PROBLEM;
      }),
    );

  program
    .command('probe <target>')
    .description('测量摄像机码流：编码、分辨率、帧率、关键帧间隔、码率、时钟偏差 / measure a camera stream: codec, size, frame rate, keyframe interval, bitrate, clock skew')
    .option('--json', 'JSON')
    .option('--seconds <n>', '测量秒数 / seconds to measure', intArg(1, 120), 6)
    .action(
      action(async (target: string, opts: { json?: boolean; seconds: number }, cmd: Command) => {
        const lang = langOf(cmd);
        const seconds = opts.seconds;
        let url: string;
        let transport: 'tcp' | 'udp' = 'tcp';
        let skewMs: number | undefined;
        if (/^rtsps?:\/\//i.test(target)) {
          url = target;
        } else {
          const cfg = configOf(cmd);
          const i = cfg.cameras.findIndex((c) => c.id === target);
          if (i < 0) {
            throw new InputError('probe', [
              { path: 'target', message: `"${target}" is neither an rtsp:// URL nor a camera id in the config (known: ${cfg.cameras.map((c) => c.id).join(', ') || 'none'})` },
            ]);
          }
          const cam = cfg.cameras[i];
          transport = cam.transport;
          try {
            url = await streamUrlOf(cam, `cameras[${i}]`);
          } catch (err) {
            if (!(err instanceof CameraError)) throw err;
            process.stderr.write(`${cameraProblem(lang, err, target)}\n`);
            return EXIT.PROBLEM;
          }
          if (cam.onvif) {
            const d = await describeCamera({
              host: cam.onvif.host,
              port: cam.onvif.port,
              username: cam.onvif.username ?? cam.username,
              password: resolveSecret(cam.onvif.password ?? cam.password, `cameras[${i}].onvif.password`),
            });
            skewMs = d.clockSkewMs;
          }
        }
        let p: StreamProbe;
        try {
          p = await probeStream(url, { transport, seconds });
        } catch (err) {
          if (!(err instanceof CameraError)) throw err;
          process.stderr.write(t(lang, `无法读取码流 ${maskUrl(url)}：`, `Cannot read the stream ${maskUrl(url)}: `) + `${maskUrl(cameraProblem(lang, err, target))}\n`);
          return EXIT.PROBLEM;
        }
        const warnings = [keyframeWarning(lang, p), skewWarning(lang, skewMs)].filter((x): x is string => !!x);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ url: maskUrl(url), ...p, clockSkewMs: skewMs ?? null, warnings }, null, 2)}\n`);
        } else {
          const w = (s: string) => process.stdout.write(`${s}\n`);
          w(`${t(lang, '码流', 'stream')}: ${maskUrl(url)}`);
          w(`  ${t(lang, '编码', 'codec')}: ${p.codec ?? '-'}${p.profile ? ` (${p.profile})` : ''}`);
          w(`  ${t(lang, '分辨率', 'resolution')}: ${p.width && p.height ? `${p.width}x${p.height}` : '-'}`);
          w(`  ${t(lang, '帧率', 'frame rate')}: ${p.fps ?? '-'} fps`);
          w(
            `  ${t(lang, '关键帧间隔', 'keyframe interval')}: ${p.keyframeIntervalSec ?? '-'} s${p.keyframeIntervalMaxSec !== undefined ? ` (${t(lang, '最长', 'max')} ${p.keyframeIntervalMaxSec} s)` : ''}`,
          );
          w(`  ${t(lang, '码率', 'bitrate')}: ${p.bitrateKbps ?? '-'} kbit/s`);
          w(`  ${t(lang, '时钟偏差', 'clock skew')}: ${skewMs === undefined ? t(lang, '未知（需要 ONVIF）', 'unknown (needs ONVIF)') : fmtSkew(skewMs)}`);
          w(`  ${t(lang, '测量时长', 'measured')}: ${p.measuredSec} s, ${p.packets} ${t(lang, '个数据包', 'packets')}`);
          for (const x of warnings) w(`⚠ ${x}`);
          if (!warnings.length) w(t(lang, '✓ 适合录像', '✓ fit for recording'));
        }
        return EXIT.OK;
      }),
    );
}
