import { statePaths } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { InputError } from '../core/errors.js';
import type { Check, CheckResult, DoctorEnv } from './check.js';
import { camerasCheck } from './cameras.js';
import { recordingCheck } from './recording.js';
import { faceCheck } from './face.js';
import { faceKeyCheck } from './facekey.js';
import { mqttCheck } from './mqtt.js';
import { terminalsCheck } from './terminals.js';
import { alarmsCheck, chainCheck, clockCheck, configCheck, diskCheck, ffmpegCheck, ffprobeCheck, storeCheck, writeSpeedCheck } from './checks.js';
import { maskUrl } from '../core/log.js';

/**
 * The doctor's checks, in the order they print (one file each for the outside things:
 * cameras.ts, terminals.ts, mqtt.ts, face.ts).
 */
export const CHECKS: Check[] = [
  configCheck,
  storeCheck,
  diskCheck,
  writeSpeedCheck,
  ffmpegCheck,
  ffprobeCheck,
  clockCheck,
  camerasCheck,
  recordingCheck,
  terminalsCheck,
  mqttCheck,
  faceCheck,
  faceKeyCheck,
  alarmsCheck,
  chainCheck,
];

export function doctorEnv(opts: { configFile?: string; cfg?: Config; configError?: InputError; now?: number }): DoctorEnv {
  return { ...opts, now: opts.now ?? Date.now(), ...(opts.cfg ? { paths: statePaths(opts.cfg) } : {}) };
}

/** Run every check; a check that throws becomes a failed result naming it, never a crash. */
export async function runDoctor(env: DoctorEnv, checks: readonly Check[] = CHECKS): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const c of checks) {
    try {
      out.push({ id: c.id, title: c.title, ...(await c.run(env)) });
    } catch (err) {
      out.push({ id: c.id, title: c.title, status: 'fail', detail: `check crashed: ${(err as Error).message}`, fix: { zh: '请把此输出发给维护人员', en: 'send this output to the maintainers' } });
    }
  }
  // why here too: a check quoting a library's message (ffprobe's, mqtt.js's) may quote a URL with its password
  for (const r of out) r.detail = maskUrl(r.detail);
  return out;
}
