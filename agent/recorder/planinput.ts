import type { Config } from '../config/schema.js';
import { loadProfile } from '../config/profile.js';
import { probeStream } from '../cameras/probe.js';
import { streamUrlOf } from '../cameras/stream.js';
import { diskSpace } from '../retention/disk.js';
import { RecordingRepo } from '../store/recordings.js';
import { RetentionRepo } from '../store/retention.js';
import type { Store } from '../store/store.js';
import { computePlan, type PlanCamera, type PlanInput, type PlanResult } from './plan.js';
import { cameraWindows, msPerDay } from './schedule.js';
import { marginsOf, recordModeOf, roomLessons } from './timetable.js';

const DAY = 86_400_000;

export interface PlanOptions {
  now: number;
  /** bitrates measured over the segments of the last `days` days */
  days: number;
  videoDir: string;
  /** plan for an empty disk of this size instead of the video disk (choosing a disk to buy) */
  diskBytes?: number;
  /** probe cameras without segments (their recorded stream) and, when it does not fit, the sub streams */
  probe: boolean;
}

export interface GatheredPlan {
  input: PlanInput;
  result: PlanResult;
  /** the imported timetable's first and last day (local), when there is one */
  timetable?: { first: string; last: string };
}

const dayNumber = (key: string) => Date.UTC(Number(key.slice(0, 4)), Number(key.slice(5, 7)) - 1, Number(key.slice(8, 10))) / DAY;

/** The inputs of `plan` from the store, the disk and (optionally) the cameras, and the plan. */
export async function gatherPlan(store: Store, cfg: Config, o: PlanOptions): Promise<GatheredPlan> {
  const cams = cfg.cameras.filter((c) => c.enabled);
  const repo = new RecordingRepo(store);
  const lessons = roomLessons(store, cfg, -8.64e15, 8.64e15);
  const m = marginsOf(cfg);
  const tz = cfg.box.timezone;
  const windows = new Map(cams.map((c) => [c.id, cameraWindows(lessons, c.id, 'timetable', m)]));
  const allDays = msPerDay(
    [...windows.values()].flat().sort((a, b) => a.start - b.start),
    -8.64e15,
    8.64e15,
    tz,
  );
  const keys = [...allDays.keys()].sort();
  const timetableDays = keys.length ? dayNumber(keys[keys.length - 1]) - dayNumber(keys[0]) + 1 : 0;

  const measured = cams.map((c) => {
    const r = repo.recordedRate(c.id, o.now - o.days * DAY, o.now);
    return r.ms > 0 ? (r.bytes * 8) / r.ms : null; // bytes·8 / ms = kbit/s
  });
  const probeKbps = async (cam: (typeof cams)[number], stream: 'main' | 'sub'): Promise<number | null> => {
    try {
      const url = await streamUrlOf(cam, `cameras[${cfg.cameras.indexOf(cam)}]`, stream);
      return (await probeStream(url, { transport: cam.transport, seconds: 6, ffprobePath: cfg.recorder.ffprobePath })).bitrateKbps ?? null;
    } catch {
      return null; // a camera that cannot be probed now: the plan says its bitrate is unknown
    }
  };
  const cameras: PlanCamera[] = [];
  for (const [i, c] of cams.entries()) {
    let kbps = measured[i];
    let source: PlanCamera['source'] = kbps === null ? 'none' : 'segments';
    if (kbps === null && o.probe) {
      kbps = await probeKbps(c, c.stream);
      if (kbps !== null) source = 'probe';
    }
    const timetableMs = (windows.get(c.id) ?? []).reduce((s, w) => s + (w.end - w.start), 0);
    cameras.push({ id: c.id, stream: c.stream, mode: recordModeOf(cfg, c), kbps: kbps === null ? null : Math.round(kbps), source, timetableMs });
  }
  const disk = o.diskBytes !== undefined ? { totalBytes: o.diskBytes, availBytes: o.diskBytes, agentBytes: 0 } : { ...diskSpace(o.videoDir), agentBytes: new RetentionRepo(store).videoBytes() };
  const input: PlanInput = {
    cameras,
    timetableDays,
    lessonDays: keys.length,
    retentionYears: loadProfile(cfg.profile).rules.retention.years,
    disk: { ...disk, ...(cfg.retention.diskBudgetBytes !== undefined && o.diskBytes === undefined ? { budgetBytes: cfg.retention.diskBudgetBytes } : {}) },
  };
  let result = computePlan(input);
  if (result.status !== 'ok') {
    // the sub stream's bitrate: probed, else measured on a camera that records its sub stream
    const subRef = cameras.find((c) => c.stream === 'sub' && c.source === 'segments');
    for (const c of cameras) {
      if (c.stream !== 'main') continue;
      const cam = cams.find((x) => x.id === c.id)!;
      const probed = o.probe && (cam.subRtspUrl || cam.onvif) ? await probeKbps(cam, 'sub') : null;
      if (probed !== null) Object.assign(c, { subKbps: Math.round(probed), subSource: 'probe' });
      else if (subRef) Object.assign(c, { subKbps: subRef.kbps, subSource: subRef.id });
    }
    result = computePlan(input);
  }
  return { input, result, ...(keys.length ? { timetable: { first: keys[0], last: keys[keys.length - 1] } } : {}) };
}
