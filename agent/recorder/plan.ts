import type { RecordMode } from './schedule.js';

/**
 * `classroom-agent plan`: will the retention period's video fit on the video disk? A pure
 * calculation (the command gathers the inputs): each camera's measured bitrate × the hours it
 * records per day (its timetable windows, margins included, averaged over the timetable's
 * calendar span; 24 h for `always`) × the retention days, summed, set against the space the
 * agent may use. Units: kbit/s = 1000 bit/s, GB = 10^9 bytes (as disks are sold).
 */
export interface PlanCamera {
  id: string;
  stream: 'main' | 'sub';
  mode: RecordMode;
  /** bitrate of the stream it records, kbit/s; null: neither measured nor probed */
  kbps: number | null;
  source: 'segments' | 'probe' | 'none';
  /** its sub stream's bitrate when it records main (probed, or another camera's measured sub stream) */
  subKbps?: number | null;
  subSource?: string;
  /** recorded milliseconds over the whole imported timetable (its windows) */
  timetableMs: number;
}

export interface PlanInput {
  cameras: PlanCamera[];
  /** calendar days the imported timetable spans (first to last lesson day, both counted); 0: no timetable */
  timetableDays: number;
  /** days with at least one window (for the printout) */
  lessonDays: number;
  retentionYears: number;
  disk: { totalBytes: number; availBytes: number; agentBytes: number; budgetBytes?: number };
}

export type PlanStatus = 'ok' | 'warn' | 'fail';

export interface PlanCameraResult extends PlanCamera {
  hoursPerDay: number;
  retentionHours: number;
  bytesPerHour: number | null;
  bytes: number | null;
}

export interface PlanAdvice {
  kind: 'sub-stream' | 'lower-bitrate' | 'bigger-disk' | 'measure';
  cameras: string[];
  /** the total needed after this change, bytes (null: cannot say) */
  neededAfter: number | null;
  /** lower-bitrate: the bitrate each named camera must come down to, kbit/s; bigger-disk: bytes */
  target?: number;
}

export interface PlanResult {
  retentionDays: number;
  cameras: PlanCameraResult[];
  neededBytes: number;
  /** what the agent may use for video: min(budget, free + what it holds already) */
  capacityBytes: number;
  /** needed must stay under this share of the capacity (the rest: database, check-in bodies, the unexpected) */
  headroom: number;
  status: PlanStatus;
  advice: PlanAdvice[];
}

export const HEADROOM = 0.9;
const DAYS_PER_YEAR = 365;

const bytesPerHourOf = (kbps: number) => (kbps * 1000 * 3600) / 8;

/**
 * The highest cap T (whole kbit/s) with Σ bytes(min(kbps, T)) × hours ≤ room: the main streams
 * above T come down to T, those below stay as they are (water-filling, so the total fits).
 */
export function capKbps(cams: { kbps: number; hours: number }[], room: number): number {
  const sorted = [...cams].sort((a, b) => a.kbps - b.kbps);
  let below = 0; // bytes of the cameras already under the cap
  for (let i = 0; i < sorted.length; i++) {
    const hoursAbove = sorted.slice(i).reduce((s, c) => s + c.hours, 0);
    // all cameras from i up capped at T: below + bytesPerHour(T) × hoursAbove = room
    const t = ((room - below) * 8) / (1000 * 3600) / hoursAbove;
    if (t <= sorted[i].kbps) return Math.max(0, Math.floor(t));
    below += bytesPerHourOf(sorted[i].kbps) * sorted[i].hours;
  }
  return Math.floor(sorted[sorted.length - 1]?.kbps ?? 0);
}

export function computePlan(p: PlanInput): PlanResult {
  const retentionDays = p.retentionYears * DAYS_PER_YEAR;
  const cameras = p.cameras.map((c): PlanCameraResult => {
    const hoursPerDay = c.mode === 'always' ? 24 : p.timetableDays > 0 ? c.timetableMs / 3_600_000 / p.timetableDays : 0;
    const retentionHours = hoursPerDay * retentionDays;
    const bytesPerHour = c.kbps === null ? null : bytesPerHourOf(c.kbps);
    return { ...c, hoursPerDay, retentionHours, bytesPerHour, bytes: bytesPerHour === null ? null : bytesPerHour * retentionHours };
  });
  const neededBytes = cameras.reduce((s, c) => s + (c.bytes ?? 0), 0);
  const budget = p.disk.budgetBytes ?? Math.floor(p.disk.totalBytes * 0.9);
  const capacityBytes = Math.max(0, Math.min(budget, p.disk.availBytes + p.disk.agentBytes));
  const unknown = cameras.filter((c) => c.bytes === null);
  const fitsIn = capacityBytes * HEADROOM;
  const status: PlanStatus = neededBytes > capacityBytes ? 'fail' : neededBytes > fitsIn || unknown.length ? 'warn' : 'ok';
  const advice: PlanAdvice[] = [];
  if (unknown.length) advice.push({ kind: 'measure', cameras: unknown.map((c) => c.id), neededAfter: null });
  if (status !== 'ok' && neededBytes > fitsIn) {
    // 1. the sub stream where its bitrate is known
    const subbable = cameras.filter((c) => c.stream === 'main' && c.bytes !== null && c.subKbps != null && c.subKbps < (c.kbps ?? 0));
    if (subbable.length) {
      const saved = subbable.reduce((s, c) => s + c.bytes! - bytesPerHourOf(c.subKbps!) * c.retentionHours, 0);
      advice.push({ kind: 'sub-stream', cameras: subbable.map((c) => c.id), neededAfter: neededBytes - saved });
    }
    // 2. lower the main streams' bitrate by one factor until the total fits
    const mains = cameras.filter((c) => c.stream === 'main' && c.bytes !== null && c.bytes > 0);
    const mainBytes = mains.reduce((s, c) => s + c.bytes!, 0);
    const rest = neededBytes - mainBytes;
    if (mains.length && fitsIn > rest) {
      const target = capKbps(
        mains.map((c) => ({ kbps: c.kbps!, hours: c.retentionHours })),
        fitsIn - rest,
      );
      const after = rest + mains.reduce((s, c) => s + bytesPerHourOf(Math.min(c.kbps!, target)) * c.retentionHours, 0);
      advice.push({ kind: 'lower-bitrate', cameras: mains.filter((c) => c.kbps! > target).map((c) => c.id), neededAfter: after, target });
    }
    // 3. a video disk that holds it all (with the headroom)
    advice.push({ kind: 'bigger-disk', cameras: [], neededAfter: neededBytes, target: Math.ceil(neededBytes / HEADROOM / 0.9) });
  }
  return { retentionDays, cameras, neededBytes, capacityBytes, headroom: HEADROOM, status, advice };
}
