import { formatLocal } from '../core/time.js';
import { camerasNow } from '../recorder/status.js';
import { windowAt } from '../recorder/schedule.js';
import { windowsOf } from '../recorder/timetable.js';
import { type Check, needsConfig, readStore } from './check.js';

/**
 * Is the daemon recording each camera, and since when? Read from the recorder's own files (its
 * ffmpeg's pid and start) and the store (last segment, open gap), not by probing the camera
 * again: a camera that answers doctor can still be unrecorded, and the reverse.
 */
export const recordingCheck: Check = {
  id: 'recording',
  title: { zh: '录像', en: 'recording' },
  async run(env) {
    const skip = needsConfig(env);
    if (skip) return skip;
    const cfg = env.cfg!;
    const paths = env.paths;
    if (!paths) return { status: 'warn', detail: 'no state folder', fix: { zh: '先运行 classroom-agent run', en: 'run classroom-agent run first' } };
    const cams = await readStore(paths.database, (s) => {
      // outside its recording window a camera is not expected to record: not a failure
      const windows = windowsOf(s, cfg, cfg.cameras, env.now - 86_400_000, env.now + 8 * 86_400_000);
      return camerasNow(s, cfg, paths.video, env.now).map((c) => ({ ...c, window: windowAt(windows.get(c.camera) ?? [], env.now) }));
    });
    if (!cams)
      return {
        status: 'warn',
        detail: 'no evidence store yet: the daemon has not run',
        fix: { zh: '启动守护进程：systemctl start classroom-agent', en: 'start the daemon: systemctl start classroom-agent' },
      };
    const tz = cfg.box.timezone;
    const enabled = cams.filter((c) => c.enabled);
    const down = enabled.filter((c) => !c.recording && c.window.on);
    const detail = enabled
      .map((c) =>
        c.recording
          ? `${c.camera}: recording since ${formatLocal(c.since!, tz)} (ffmpeg pid ${c.pid})`
          : !c.window.on
            ? `${c.camera}: not scheduled now (timetable)${c.window.nextEdge !== undefined ? `, next window ${formatLocal(c.window.nextEdge, tz)}` : ', no lesson ahead'}`
            : `${c.camera}: NOT recording${c.openGap ? ` since ${formatLocal(c.openGap.start, tz)}: ${c.openGap.reason}${c.openGap.detail ? ` (${c.openGap.detail.slice(0, 160)})` : ''}` : ''}`,
      )
      .join(' | ');
    if (!enabled.length) return { status: 'warn', detail: 'no camera enabled' };
    if (!down.length) return { status: 'ok', detail };
    return {
      status: 'fail',
      detail,
      fix: {
        zh: `未在录像：${down.map((c) => c.camera).join('、')}。守护进程未运行时请启动它（systemctl start classroom-agent）；在运行时看空档原因（classroom-agent recordings gaps）并按摄像机检查的建议处理`,
        en: `not recorded: ${down.map((c) => c.camera).join(', ')}. If the daemon is not running, start it (systemctl start classroom-agent); if it is, read the gap's reason (classroom-agent recordings gaps) and follow the cameras check's advice`,
      },
    };
  },
};
