import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { evaluate } from '../../compliance/engine.js';
import { loadProfile } from '../../config/profile.js';
import { PACKAGE_ROOT } from '../../core/paths.js';
import { ClassRepo } from '../../store/classes.js';
import { Store } from '../../store/store.js';
import { Mosquitto, ensureBuilt } from '../../sync/mosquitto-kit.js';
import { ClassroomRig } from './rig.js';

/**
 * The product end to end: `classroom-agent run` as its own process, against the simulated camera,
 * the ZKTeco terminal and the reference receiver on a real Mosquitto, through a short class.
 * The class verdict the provincial system received must be the one `evaluate` gives on the
 * exported evidence, and every check-in the terminal made must be there exactly once.
 */
const CLI = ensureBuilt(PACKAGE_ROOT);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
});

function startDaemon(config: string, log: string): ChildProcess {
  const out = fs.openSync(log, 'a');
  const child = spawn(process.execPath, [CLI, 'run', '--config', config], { stdio: ['ignore', out, out], env: { ...process.env, LOG_LEVEL: 'info' } });
  fs.closeSync(out);
  return child;
}

async function kill9(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
  // the daemon's ffmpeg children are told to stop by their parent-death signal; give them a moment
  await sleep(300);
}

async function setup(name: string, vision: boolean) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ca-e2e-${name}-`));
  const mosq = new Mosquitto({ dir });
  await mosq.start();
  cleanups.push(() => mosq.stop());
  const rig = await new ClassroomRig({ dir, brokerUrl: mosq.url, vision }).start();
  cleanups.push(() => rig.stop());
  const config = rig.writeConfig(path.join(dir, 'agent.yaml'));
  return { dir, mosq, rig, config, log: path.join(dir, 'daemon.log') };
}

/** The truth: evaluate on the box's exported evidence (read-only view of the store). */
function truth(rig: ClassroomRig) {
  const store = new Store({ file: rig.database });
  try {
    const ev = new ClassRepo(store).evidence(rig.plan!.id)!;
    const v = evaluate(ev, loadProfile(ev.profile!));
    return { v, checkins: store.db.prepare('SELECT COUNT(*) FROM checkins WHERE trainee IS NOT NULL').pluck().get() as number };
  } finally {
    store.close();
  }
}

const key = (v: { eligible: boolean; violations: Array<{ rule: string; lesson?: string; trainee?: string; teacher?: string }> }) => ({
  eligible: v.eligible,
  violations: v.violations.map((f) => `${f.rule}:${f.lesson ?? f.trainee ?? f.teacher ?? ''}`).sort(),
});

/** Wait until the receiver's latest class verdict equals the truth (late evidence re-sends it). */
async function settle(rig: ClassroomRig, limitMs: number) {
  const t0 = Date.now();
  for (;;) {
    const got = rig.classVerdicts().at(-1);
    const want = truth(rig).v;
    if (got && JSON.stringify(key(got)) === JSON.stringify(key(want))) return { got, want };
    if (Date.now() - t0 > limitMs) return { got, want };
    await sleep(2000);
  }
}

describe('end to end: daemon process, simulators, Mosquitto', () => {
  it('a short class: the verdict the provincial system got is evaluate(export-evidence)', async () => {
    const { rig, config, log } = await setup('clean', true);
    const daemon = startDaemon(config, log);
    cleanups.push(() => kill9(daemon));
    const plan = rig.importClass({ leadSeconds: 10, lessonSeconds: 45, breakSeconds: 5 });
    await sleep(3000);
    await rig.checkInEveryone();
    const end = plan.lessons.at(-1)!.end;
    await sleep(end - Date.now() + 20_000);
    const { got, want } = await settle(rig, 90_000);
    expect(got, fs.readFileSync(log, 'utf8').slice(-3000)).toBeDefined();
    expect(key(got!)).toEqual(key(want));
    // S12 never came: the verdict names them; the vision module saw most of the others (its
    // accuracy is measured in agent/vision; here the point is that sightings flow end to end)
    expect(want.violations.map((f) => f.trainee)).toContain('S12');
    expect(want.trainees.filter((t) => t.id !== 'S12' && t.lessonsOnCamera >= 1).length).toBeGreaterThanOrEqual(8);
    const received = rig.received.filter((r) => r.type === 'checkin').length;
    expect(received).toBe(rig.classroom.photos.size);
    expect(truth(rig).checkins).toBe(rig.classroom.photos.size);
  }, 600_000);

  it('chaos: kill -9 the daemon three times, stop the broker, stall the camera: same verdict as the true evidence, no check-in lost', async () => {
    // vision off: the chaos is about recording, check-ins and delivery; face analysis after every
    // restart would only slow the 2-core CI machine
    const { rig, mosq, config, log } = await setup('chaos', false);
    let daemon = startDaemon(config, log);
    cleanups.push(() => kill9(daemon));
    const plan = rig.importClass({ leadSeconds: 10, lessonSeconds: 45, breakSeconds: 5 });
    const restart = async () => {
      await kill9(daemon);
      await sleep(1500);
      daemon = startDaemon(config, log);
    };
    await sleep(3000);
    await rig.checkInEveryone();
    const punches = rig.zk.punches.length;
    await sleep(15_000);
    await restart(); // during lesson 1
    await sleep(8000);
    await mosq.stop(); // the provincial link goes down for 20 s
    // terminal punches while the daemon cannot reach the broker (the daemon itself is up)
    rig.zk.punch('1001', new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' '));
    await rig.zk.sync();
    await sleep(20_000);
    await mosq.start();
    await restart(); // during lesson 2
    rig.camera.stall();
    await sleep(5000);
    rig.camera.resume();
    await sleep(10_000);
    await kill9(daemon); // down while the terminal keeps punching: it keeps its punches and resends
    rig.zk.punch('1002', new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' '));
    await rig.zk.sync().catch(() => undefined);
    await sleep(3000);
    daemon = startDaemon(config, log);
    await rig.waitForCheckinServer();
    await rig.zk.sync();

    await sleep(plan.lessons.at(-1)!.end - Date.now() + 20_000);
    const { got, want } = await settle(rig, 120_000);
    expect(got, fs.readFileSync(log, 'utf8').slice(-3000)).toBeDefined();
    expect(key(got!)).toEqual(key(want));
    // every punch the terminal made is stored once and reached the provincial system once
    const all = rig.zk.punches.length;
    expect(all).toBe(punches + 2);
    expect(truth(rig).checkins).toBe(all);
    const ids = rig.received.filter((r) => r.type === 'checkin').map((r) => r.recordId);
    expect(ids.length).toBe(all);
    expect(new Set(ids).size).toBe(all);
  }, 600_000);
});
