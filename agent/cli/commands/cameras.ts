import { CameraError } from '../../cameras/errors.js';
import type { Command } from 'commander';
import { discover, type DiscoveredCamera } from '../../cameras/discover.js';
import { describeCamera } from '../../cameras/onvif.js';
import { probeStream, type StreamProbe } from '../../cameras/probe.js';
import { resolveSecret } from '../../config/load.js';
import { InputError } from '../../core/errors.js';
import { maskUrl } from '../../core/log.js';
import { streamUrlOf, type StreamChoice } from '../../cameras/stream.js';
import { cameraSnippet } from '../../cameras/snippet.js';
import type { SecretRef } from '../../config/schema.js';
import fs from 'node:fs';
import path from 'node:path';
import { choiceArg, intArg, intListArg } from '../options.js';
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
  if (c.error?.kind === 'auth' && c.error.missing) w(`   ✗ ${credentialsNeeded(lang)}`);
  else if (c.error?.kind === 'auth')
    w(
      `   ✗ ${t(lang, '用户名或密码错误：用 discover --user 用户名 --password-file 文件 重试，或改正配置 discovery.username / discovery.password。', 'Wrong user name or password: retry with discover --user NAME --password-file FILE, or correct discovery.username / discovery.password in the config.')}`,
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

/** The variable `discover` reads a camera password from (kept out of the shell history and of `ps`). */
export const CAMERA_PASSWORD_ENV = 'CLASSROOM_AGENT_CAMERA_PASSWORD';
/** Where the pasted snippet points the camera password when it was not given as a file. */
const DEFAULT_CAMERA_SECRET = '/etc/classroom-agent/secrets/cameras';

/** No credentials at all (not wrong ones): say they are needed and the ways to give them. */
export function credentialsNeeded(lang: Lang): string {
  return t(
    lang,
    `摄像机需要用户名和密码，尚未提供：classroom-agent discover --user admin --password-file 文件（文件中只写密码），或设置环境变量 ${CAMERA_PASSWORD_ENV}，或在配置中填写 discovery.username / discovery.password`,
    `The camera needs a user name and password, and none was given: classroom-agent discover --user admin --password-file FILE (the file holds the password only), or set ${CAMERA_PASSWORD_ENV}, or set discovery.username / discovery.password in the config`,
  );
}

/** A camera problem in plain words with what to do, by its kind (never a raw library message alone). */
export function cameraProblem(lang: Lang, err: CameraError, target: string): string {
  const fix =
    err.kind === 'auth' && err.credentialsMissing
      ? t(
          lang,
          `摄像机需要用户名和密码，配置中没有：在 cameras[].onvif 中填写 username 和 password（如 password: { file: /etc/classroom-agent/secrets/cameras }）；classroom-agent discover --user admin --password-file 文件 可生成配置片段`,
          `the camera needs a user name and password and the config has none: set username and password in cameras[].onvif (e.g. password: { file: /etc/classroom-agent/secrets/cameras }); classroom-agent discover --user admin --password-file FILE prints a config snippet`,
        )
      : err.kind === 'auth'
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
    .option('--user <name>', '摄像机用户名，覆盖配置 / camera user name, overrides discovery.username')
    .option(
      '--password <password>',
      `摄像机密码（会留在命令历史中：更好用 --password-file 或 ${CAMERA_PASSWORD_ENV}）/ camera password (stays in the shell history: prefer --password-file or ${CAMERA_PASSWORD_ENV})`,
    )
    .option('--password-file <file>', '从文件读取摄像机密码（一行）/ read the camera password from a file (one line)')
    .option('--yaml', '只输出可粘贴到配置的 cameras: 片段 / print only the cameras: snippet to paste into the config')
    .addHelpText('after', `\n密码的来源依次为 / the password is taken from, in order: --password, --password-file, $${CAMERA_PASSWORD_ENV}, discovery.password`)
    .action(
      action(
        async (
          opts: { json?: boolean; yaml?: boolean; range?: string[]; port?: number[]; multicast?: boolean; timeout?: number; user?: string; password?: string; passwordFile?: string },
          cmd: Command,
        ) => {
          const lang = langOf(cmd);
          const cfg = configOf(cmd);
          const d = { ...cfg.discovery };
          if (opts.range) d.ranges = opts.range;
          if (opts.port) d.ports = opts.port;
          if (opts.multicast === false) d.multicast = false;
          if (opts.timeout) d.timeoutMs = opts.timeout;
          // the snippet names the password by reference: the file given, else the config's own reference, else a file to create
          let ref: SecretRef | undefined = d.password !== undefined && typeof d.password !== 'string' ? d.password : undefined;
          if (opts.user) d.username = opts.user;
          const envPw = process.env[CAMERA_PASSWORD_ENV];
          if (opts.password !== undefined) {
            d.password = opts.password;
            ref = { file: DEFAULT_CAMERA_SECRET };
          } else if (opts.passwordFile) {
            const file = path.resolve(opts.passwordFile);
            try {
              d.password = fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
            } catch (err) {
              throw new InputError('discover', [
                {
                  path: '--password-file',
                  message: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}): give a readable file holding the camera password on one line`,
                  zh: `无法读取 ${file}（${(err as NodeJS.ErrnoException).code ?? 'error'}）：请给出一个可读的文件，其中一行为摄像机密码`,
                },
              ]);
            }
            ref = { file };
          } else if (envPw !== undefined && envPw !== '') {
            d.password = envPw;
            ref = { file: DEFAULT_CAMERA_SECRET };
          }
          if (d.password !== undefined && !d.username) d.username = 'admin';
          const cams = await discover({ ...cfg, discovery: d });
          const snippet = cameraSnippet(cams, { username: d.username, password: d.password === undefined ? undefined : (ref ?? { file: DEFAULT_CAMERA_SECRET }), existing: cfg.cameras });
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(cams, null, 2)}\n`);
          } else if (opts.yaml) {
            process.stdout.write(snippet.yaml);
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
            } else if (snippet.entries) {
              process.stdout.write(`\n# ${t(lang, '粘贴到配置文件（classroom-agent config check 校验）', 'paste into the config file (classroom-agent config check validates it)')}:\n${snippet.yaml}`);
              if (ref && 'file' in ref && ref.file === DEFAULT_CAMERA_SECRET)
                process.stdout.write(
                  `# ${t(lang, `密码不写进配置：把它写入 ${DEFAULT_CAMERA_SECRET}（一行）：install -m 600 -o classroom-agent /dev/null ${DEFAULT_CAMERA_SECRET}`, `the password stays out of the config: write it on one line into ${DEFAULT_CAMERA_SECRET}: install -m 600 -o classroom-agent /dev/null ${DEFAULT_CAMERA_SECRET}`)}\n`,
                );
            }
          }
          return cams.length ? EXIT.OK : EXIT.PROBLEM;
        },
      ),
    );

  program
    .command('probe <target>')
    .description('测量摄像机码流：编码、分辨率、帧率、关键帧间隔、码率、时钟偏差 / measure a camera stream: codec, size, frame rate, keyframe interval, bitrate, clock skew')
    .option('--json', 'JSON')
    .option('--seconds <n>', '测量秒数 / seconds to measure', intArg(1, 120), 6)
    .option('--stream <which>', '主码流或子码流（摄像机编号时）/ main or sub stream (of a camera id)', choiceArg<StreamChoice>(['main', 'sub']), 'main')
    .action(
      action(async (target: string, opts: { json?: boolean; seconds: number; stream: StreamChoice }, cmd: Command) => {
        const lang = langOf(cmd);
        const seconds = opts.seconds;
        let url: string;
        let transport: 'tcp' | 'udp' = 'tcp';
        let skewMs: number | undefined;
        if (/^rtsps?:\/\//i.test(target)) {
          if (opts.stream !== 'main') {
            throw new InputError('probe', [
              {
                path: '--stream',
                message: '--stream sub needs a camera id from the config (an rtsp:// URL is one stream already): probe CAMERA-ID --stream sub, or give the sub stream URL itself',
                zh: '--stream sub 需要配置中的摄像机编号（rtsp:// 地址本身就是一个码流）：probe 摄像机编号 --stream sub，或直接给出子码流地址',
              },
            ]);
          }
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
            url = await streamUrlOf(cam, `cameras[${i}]`, opts.stream);
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
