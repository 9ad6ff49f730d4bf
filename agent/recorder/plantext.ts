import type { PlanResult } from './plan.js';

type Lang = 'zh' | 'en';
// why not cli/i18n's t(): doctor prints these too, and the recorder does not depend on the CLI
const t = (lang: Lang, zh: string, en: string) => (lang === 'zh' ? zh : en);

export const gb = (b: number) => (b / 1e9).toFixed(1);

/** What to change, one line each (zh/en), with the config key to set. */
export function adviceLines(r: PlanResult, lang: Lang): string[] {
  return r.advice.map((a) => {
    const after = a.neededAfter === null ? '' : t(lang, `，之后需要 ${gb(a.neededAfter)} GB`, `: then ${gb(a.neededAfter)} GB needed`);
    const cams = a.cameras.join(', ');
    switch (a.kind) {
      case 'measure':
        return t(
          lang,
          `测不出 ${cams} 的码率（没有录像，也探测不到）：确认摄像头在线后运行 classroom-agent probe，或让它录一节课后再运行 plan`,
          `no bitrate for ${cams} (no recordings, probe failed): check the camera answers (classroom-agent probe), or plan again after it recorded a lesson`,
        );
      case 'sub-stream': {
        const subs = r.cameras
          .filter((c) => a.cameras.includes(c.id))
          .map(
            (c) =>
              `${c.id} ${c.subKbps} kbit/s${c.subSource === 'probe' ? t(lang, '（探测）', ' (probed)') : t(lang, `（按 ${c.subSource} 的子码流实测）`, ` (as measured on ${c.subSource}'s sub stream)`)}`,
          )
          .join(', ');
        return t(lang, `改录子码流（cameras[].stream: sub）：${subs}${after}`, `record the sub stream (cameras[].stream: sub): ${subs}${after}`);
      }
      case 'lower-bitrate':
        return t(lang, `在摄像头上把主码流码率降到不高于 ${a.target} kbit/s（${cams}）${after}`, `lower the main stream's bitrate in the camera to at most ${a.target} kbit/s (${cams})${after}`);
      default:
        return t(
          lang,
          `把录像目录（paths.video）放到至少 ${gb(a.target!)} GB 的硬盘上（归档目录 retention.archiveDir 只接收过期录像，不能代替）`,
          `put the video folder (paths.video) on a disk of at least ${gb(a.target!)} GB (retention.archiveDir only receives expired video; it does not make room before)`,
        );
    }
  });
}
