import { statePaths } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { InputError } from '../core/errors.js';
import type { Check, CheckResult, DoctorEnv } from './check.js';
import { alarmsCheck, chainCheck, clockCheck, configCheck, diskCheck, ffmpegCheck, ffprobeCheck, storeCheck, writeSpeedCheck } from './checks.js';

/**
 * The doctor's checks, in the order they print. Registration point: the lead adds the checks
 * of the other modules here, one line each —
 *   cameraChecks (reachable, authenticated, streaming, keyframe interval, clock skew: agent/cameras),
 *   terminalChecks (last event per terminal: agent/checkin),
 *   mqttCheck (connect, round trip with the receiver's ack, backlog and its oldest age: agent/sync),
 *   faceCheck (backend and a self-test detection on a sample photo: agent/vision).
 */
export const CHECKS: Check[] = [configCheck, storeCheck, diskCheck, writeSpeedCheck, ffmpegCheck, ffprobeCheck, clockCheck, alarmsCheck, chainCheck];

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
  return out;
}
