import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CentralReceiver } from '../../central/receiver.js';
import { CheckinServer } from '../../checkin/server.js';
import { type Lang, t } from '../../cli/i18n.js';
import { renderVerdict } from '../../cli/render.js';
import { evaluate } from '../../compliance/engine.js';
import { loadProfile } from '../../config/profile.js';
import { configSchema, type Config } from '../../config/schema.js';
import type { AgentContext } from '../../core/context.js';
import { formatLocal } from '../../core/time.js';
import { Daemon, MODULE_FACTORIES, type ModuleFactory } from '../../daemon.js';
import { ClassRepo } from '../../store/classes.js';
import { FaceRepo } from '../../store/faces.js';
import { Store } from '../../store/store.js';
import { enrolTrainee } from '../../vision/enroll.js';
import { SimCamera } from '../camera/camera.js';
import { freePort, startAedes, type AedesBroker } from '../../sync/testkit.js';
import { ZkDevice } from '../terminals/zkteco.js';
import { makeDemoClassroom, scheduleDemoClass } from './classroom.js';

export interface DemoOptions {
  stateDir?: string;
  lang: Lang;
  /** stop by itself once the class verdict is printed (tests, CI) */
  exitWhenDone?: boolean;
  leadSeconds?: number;
  lessonSeconds?: number;
  breakSeconds?: number;
  print?: (line: string) => void;
}

export interface DemoResult {
  classVerdictEligible?: boolean;
  lessonVerdicts: number;
  centralRecords: number;
}

const hhmmss = (ms: number) => formatLocal(ms).slice(11) + `:${String(new Date(ms).getUTCSeconds()).padStart(2, '0')}`;

/**
 * `classroom-agent demo`: a whole simulated classroom on embedded defaults. A simulated ONVIF
 * camera whose RTSP video shows faces from face-api's sample photos, a simulated ZKTeco terminal
 * checking the trainees in, an embedded MQTT broker with the reference central receiver as the
 * provincial system, a demo class enrolled from the photos, the demo-minutes profile. The real
 * daemon runs against them: the same code paths as on a box.
 */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const say = o.print ?? ((l: string) => process.stdout.write(`${l}\n`));
  const L = (zh: string, en: string) => t(o.lang, zh, en);
  const dir = o.stateDir ?? path.join(os.tmpdir(), 'classroom-agent-demo');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  const stamp = () => `[${String(Math.round((Date.now() - t0) / 1000)).padStart(3)}s]`;
  const log = (zh: string, en: string) => say(`${stamp()} ${L(zh, en)}`);
  log(`演示目录 ${dir}`, `demo state in ${dir}`);

  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const result: DemoResult = { lessonVerdicts: 0, centralRecords: 0 };
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const onSig = () => {
    say(L('\n收到中断，正在停止……', '\nInterrupted, stopping…'));
    finish();
  };
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);

  try {
    log('生成模拟教室画面（face-api 示例照片中的人物）……', 'making the simulated classroom (people from face-api\'s sample photos)…');
    const classroom = await makeDemoClassroom(path.join(dir, 'classroom'));

    const camera = await new SimCamera({ username: 'admin', password: 'demo-camera-pw', rtsp: { images: classroom.frames, width: 1920, height: 1080, fps: 5, keyint: 5, bitrateKbps: 2500 } }).start();
    cleanups.push(() => camera.stop());
    log(`模拟摄像头 ONVIF ${camera.deviceUrl}，RTSP ${camera.rtspUrl}`, `simulated camera: ONVIF ${camera.deviceUrl}, RTSP ${camera.rtspUrl}`);

    const broker: AedesBroker = await startAedes();
    cleanups.push(() => broker.close());
    const prefix = 'classroom/v1';
    const central = new CentralReceiver({ url: broker.url, prefix, db: path.join(dir, 'central.db'), group: '', reorderTimeoutMs: 3000, onRecord: () => (result.centralRecords += 1) });
    await central.start();
    cleanups.push(() => central.stop());
    log(`内置 MQTT 代理 ${broker.url}，省信息系统（参考接收端）已连接`, `embedded MQTT broker ${broker.url}; provincial system (reference receiver) connected`);

    const checkinPort = await freePort();
    const cfg: Config = configSchema.parse({
      box: { id: 'demo-box-01', room: 'room-101' },
      paths: { state: dir },
      profile: 'demo-minutes',
      cameras: [{ id: 'cam-1', name: '101 教室前方 / room 101 front', onvif: { host: '127.0.0.1', port: camera.httpPort, username: 'admin', password: 'demo-camera-pw' } }],
      recorder: { segmentSeconds: 10 },
      checkin: { listen: { host: '127.0.0.1', port: checkinPort }, healthIntervalMs: 10_000, quietMinutes: 2 },
      terminals: [{ id: 'gate-1', protocol: 'zkteco', serial: 'ZKDEMO0001', timezone: 'Asia/Shanghai' }],
      // the demo's enrolment photos are crops of group photos, softer than a real ID photo
      vision: { sampleEverySeconds: 5, frameWidth: 1280, minFrames: 2, enrolMinSharpness: 30 },
      sync: { url: broker.url, topicPrefix: prefix, ackTimeoutMs: 5000 },
      monitor: { tickSeconds: 2, settleSeconds: 15, lateDebounceSeconds: 3 },
    });

    // the class and its enrolment, as a school would do with `class import`, `consent`, `enroll`
    {
      const store = new Store({ file: path.join(dir, 'evidence.db') });
      try {
        const faces = new FaceRepo(store);
        for (const [trainee, photos] of classroom.photos) {
          faces.giveConsent(trainee, { recordedBy: 'demo', method: 'electronic' }, Date.now());
          // one good photo per trainee is enough for the demo; a photo the quality check refuses
          // is skipped and the next one tried, as a technician would
          let enrolled = 0;
          for (const photo of photos) {
            try {
              await enrolTrainee(cfg, store, trainee, [photo]);
              enrolled++;
              break;
            } catch (err) {
              log(`学员 ${trainee} 的照片未通过质量检查，跳过：${(err as Error).message}`, `a photo of ${trainee} failed the quality check and is skipped: ${(err as Error).message}`);
            }
          }
          if (!enrolled) throw new Error(`no usable enrolment photo for ${trainee}`);
        }
      } finally {
        store.close();
      }
    }
    let classDone = false;
    const onContext = (ctx: AgentContext) => progress(ctx);
    const factories: ModuleFactory[] = MODULE_FACTORIES;
    const daemon = new Daemon({ cfg, factories, onContext });
    await daemon.start();
    cleanups.push(() => daemon.stop());
    const failed = daemon.failed();
    log(`守护进程已启动${failed.length ? `（失败模块：${failed.join(', ')}）` : ''}`, `daemon running${failed.length ? ` (failed modules: ${failed.join(', ')})` : ''}`);

    // the school imports its class: lessons start shortly, now that everything runs
    const plan = scheduleDemoClass(classroom, Date.now(), { leadSeconds: o.leadSeconds ?? 15, lessonSeconds: o.lessonSeconds ?? 50, breakSeconds: o.breakSeconds ?? 5 });
    {
      const store = new Store({ file: path.join(dir, 'evidence.db') });
      try {
        new ClassRepo(store).save(plan, cfg.profile);
      } finally {
        store.close();
      }
    }
    const ls = plan.lessons;
    log(
      `班次 ${plan.id}：学员 ${plan.trainees.length} 人（已采集人脸 ${classroom.photos.size} 人），课时 ${ls.length} 个，${hhmmss(ls[0].start)} – ${hhmmss(ls[ls.length - 1].end)}`,
      `class ${plan.id}: ${plan.trainees.length} trainees (${classroom.photos.size} enrolled), ${ls.length} lessons, ${hhmmss(ls[0].start)} – ${hhmmss(ls[ls.length - 1].end)}`,
    );


    // the terminal at the door: everyone but the absent trainee checks in before the first lesson
    const zk = new ZkDevice(`http://127.0.0.1:${checkinPort}`, 'ZKDEMO0001');
    await zk.handshake();
    const wall = (ms: number) => formatLocal(ms).replace('T', ' ') + `:${String(new Date(ms).getUTCSeconds()).padStart(2, '0')}`;
    let k = 0;
    for (const [trainee, pin] of classroom.pins) {
      if (!classroom.photos.has(trainee)) continue;
      zk.punch(pin, wall(Date.now() - 20_000 + k++ * 1000));
    }
    await zk.sync();
    // a terminal resending what it already sent (after a reboot) must not double anything
    zk.cursor = 0;
    await zk.sync();

    function progress(ctx: AgentContext) {
      const bus = ctx.bus;
      let segments = 0;
      let acked = 0;
      const judged = new Set<string>();
      bus.on(progress, 'segment.indexed', (s) => {
        segments++;
        log(`录像片段 #${segments} ${s.camera} ${hhmmss(s.start)}–${hhmmss(s.end)} ${(s.bytes / 1024).toFixed(0)} KB 已入库`, `segment #${segments} ${s.camera} ${hhmmss(s.start)}–${hhmmss(s.end)} ${(s.bytes / 1024).toFixed(0)} KB indexed`);
      });
      bus.on(progress, 'checkin.stored', (c) => log(`签到 ${c.trainee ?? L('未知人员', 'unknown person')} @ ${c.terminal} ${hhmmss(c.at)}`, `check-in ${c.trainee ?? 'unknown person'} at ${c.terminal} ${hhmmss(c.at)}`));
      bus.on(progress, 'sightings.stored', (s) => {
        if (s.trainees.length) log(`识别到学员 ${s.trainees.join(', ')}（${s.camera}，陌生人脸 ${s.unknownFaces}）`, `seen on camera: ${s.trainees.join(', ')} (${s.camera}, unknown faces ${s.unknownFaces})`);
      });
      bus.on(progress, 'sync.acked', (a) => {
        acked += a.seqs.length;
        log(`省信息系统已确认 ${a.seqs.length} 条（累计 ${acked}）`, `provincial system acknowledged ${a.seqs.length} record(s) (total ${acked})`);
      });
      bus.on(progress, 'alarm.raised', (a) => log(`⚠ 告警 ${a.kind} ${a.subject}：${a.message}`, `⚠ alarm ${a.kind} ${a.subject}: ${a.message}`));
      bus.on(progress, 'alarm.cleared', (a) => log(`✓ 告警解除 ${a.kind} ${a.subject}`, `✓ alarm cleared ${a.kind} ${a.subject}`));
      bus.on(progress, 'verdict.computed', (v) => {
        const ev = new ClassRepo(ctx.store).evidence(v.classId);
        if (!ev) return;
        const verdict = evaluate(ev, loadProfile(ev.profile ?? cfg.profile));
        if (v.lessonId) {
          const again = judged.has(v.lessonId);
          judged.add(v.lessonId);
          result.lessonVerdicts++;
          const l = verdict.lessons.find((x) => x.id === v.lessonId)!;
          const bad = verdict.violations.filter((f) => f.lesson === v.lessonId);
          log(
            `课时 ${l.id}（${l.kind}）${again ? '补充证据后重新' : ''}判定：${bad.length ? `违规 ${bad.map((f) => f.rule).join(', ')}` : '合格'}；录像 ${l.recordedSeconds}s，最长连续 ${l.longestContinuousSeconds}s，出镜 ${l.traineesOnCamera.length} 人`,
            `lesson ${l.id} (${l.kind}) ${again ? 'verdict updated with late evidence' : 'verdict'}: ${bad.length ? `violations ${bad.map((f) => f.rule).join(', ')}` : 'compliant'}; recorded ${l.recordedSeconds}s, longest ${l.longestContinuousSeconds}s, ${l.traineesOnCamera.length} on camera`,
          );
        } else {
          result.classVerdictEligible = verdict.eligible;
          say(`\n${stamp()} ${classDone ? L('班次判定（补充证据后更新）：', 'class verdict (updated with late evidence):') : L('班次判定：', 'class verdict:')}\n${renderVerdict(verdict, o.lang)}\n`);
          if (!classDone) {
            classDone = true;
            if (o.exitWhenDone) setTimeout(finish, 3000); // let the verdict reach the provincial system
            else say(L('演示完成：守护进程继续运行，按 Ctrl-C 停止。', 'Demo complete: the daemon keeps running; press Ctrl-C to stop.'));
          }
        }
      });
    }

    await finished;
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        // stopping the simulators is best effort; the daemon's own stop already ran
      }
    }
  }
  say(L(`已停止。省信息系统共收到 ${result.centralRecords} 条记录。`, `Stopped. The provincial system received ${result.centralRecords} record(s).`));
  return result;
}
