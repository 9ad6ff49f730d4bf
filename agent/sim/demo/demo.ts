import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Lang, t } from '../../cli/i18n.js';
import { renderVerdict } from '../../cli/render.js';
import { evaluate } from '../../compliance/engine.js';
import { loadProfile } from '../../config/profile.js';
import type { AgentContext } from '../../core/context.js';
import { formatIso } from '../../core/time.js';
import { Daemon } from '../../daemon.js';
import { ClassRepo } from '../../store/classes.js';
import { ConsoleRepo } from '../../store/console.js';
import { hashPassword } from '../../console/auth.js';
import { DEMO_TIMETABLE } from './classroom.js';
import { ClassroomRig } from './rig.js';

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

const hhmmss = (ms: number) => formatIso(ms).slice(11, 19);

/**
 * `classroom-agent demo`: the real daemon, in-process, in a simulated classroom (ClassroomRig:
 * camera, door terminal, provincial system, enrolled demo class, demo-minutes profile), with its
 * progress printed as it goes: the same code paths as on a box.
 */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const say = o.print ?? ((l: string) => process.stdout.write(`${l}\n`));
  const L = (zh: string, en: string) => t(o.lang, zh, en);
  const dir = o.stateDir ?? path.join(os.tmpdir(), 'classroom-agent-demo');
  fs.rmSync(dir, { recursive: true, force: true });
  const t0 = Date.now();
  const stamp = () => `[${String(Math.round((Date.now() - t0) / 1000)).padStart(3)}s]`;
  const log = (zh: string, en: string) => say(`${stamp()} ${L(zh, en)}`);
  log(`演示目录 ${dir}`, `demo state in ${dir}`);

  const result: DemoResult = { lessonVerdicts: 0, centralRecords: 0 };
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const onSig = () => {
    say(L('\n收到中断，正在停止……', '\nInterrupted, stopping…'));
    finish();
  };
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  const rig = new ClassroomRig({ dir, say: log });
  let daemon: Daemon | undefined;
  let classDone = false;

  const progress = (ctx: AgentContext) => {
    const bus = ctx.bus;
    let segments = 0;
    let acked = 0;
    const judged = new Set<string>();
    bus.on(progress, 'segment.indexed', (s) => {
      segments++;
      log(
        `录像片段 #${segments} ${s.camera} ${hhmmss(s.start)}–${hhmmss(s.end)} ${(s.bytes / 1024).toFixed(0)} KB 已入库`,
        `segment #${segments} ${s.camera} ${hhmmss(s.start)}–${hhmmss(s.end)} ${(s.bytes / 1024).toFixed(0)} KB indexed`,
      );
    });
    bus.on(progress, 'checkin.stored', (c) => log(`签到 ${c.trainee ?? '未知人员'} @ ${c.terminal} ${hhmmss(c.at)}`, `check-in ${c.trainee ?? 'unknown person'} at ${c.terminal} ${hhmmss(c.at)}`));
    bus.on(progress, 'sightings.stored', (s) => {
      if (s.trainees.length)
        log(`识别到学员 ${s.trainees.join(', ')}（${s.camera}，陌生人脸 ${s.unknownFaces}）`, `seen on camera: ${s.trainees.join(', ')} (${s.camera}, unknown faces ${s.unknownFaces})`);
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
      const verdict = evaluate(ev, loadProfile(ev.profile ?? ctx.cfg.profile));
      if (v.lessonId) {
        const again = judged.has(v.lessonId);
        judged.add(v.lessonId);
        result.lessonVerdicts++;
        const l = verdict.lessons.find((x) => x.id === v.lessonId)!;
        const bad = verdict.violations.filter((f) => f.lesson === v.lessonId).map((f) => f.rule);
        log(
          `课时 ${l.id}（${l.kind}）${again ? '补充证据后重新' : ''}判定：${bad.length ? `违规 ${bad.join(', ')}` : '合格'}；录像 ${l.recordedSeconds}s，最长连续 ${l.longestContinuousSeconds}s，出镜 ${l.traineesOnCamera.length} 人`,
          `lesson ${l.id} (${l.kind}) ${again ? 'verdict updated with late evidence' : 'verdict'}: ${bad.length ? `violations ${bad.join(', ')}` : 'compliant'}; recorded ${l.recordedSeconds}s, longest ${l.longestContinuousSeconds}s, ${l.traineesOnCamera.length} on camera`,
        );
        return;
      }
      result.classVerdictEligible = verdict.eligible;
      say(`\n${stamp()} ${classDone ? L('班次判定（补充证据后更新）：', 'class verdict (updated with late evidence):') : L('班次判定：', 'class verdict:')}\n${renderVerdict(verdict, o.lang)}\n`);
      if (classDone) return;
      classDone = true;
      if (o.exitWhenDone)
        setTimeout(finish, 3000); // let the verdict reach the provincial system
      else say(L('演示完成：守护进程继续运行，按 Ctrl-C 停止。', 'Demo complete: the daemon keeps running; press Ctrl-C to stop.'));
    });
  };

  try {
    await rig.start();
    // a demo login for the console (inspector: sees every page, changes nothing)
    const demoPassword = 'demo-2025';
    const demoHash = await hashPassword(demoPassword);
    daemon = new Daemon({
      cfg: rig.cfg,
      onContext: (ctx) => {
        new ConsoleRepo(ctx.store).addUser('demo', 'inspector', demoHash);
        progress(ctx);
      },
    });
    await daemon.start();
    const c = rig.cfg.console.listen;
    log(
      `控制台 http://${c.host}:${c.port}/ 用户 demo 密码 ${demoPassword}（检查人员角色，只读）`,
      `console http://${c.host}:${c.port}/ user demo password ${demoPassword} (inspector role, read-only)`,
    );
    const failed = daemon.failed();
    log(`守护进程已启动${failed.length ? `（失败模块：${failed.join(', ')}）` : ''}`, `daemon running${failed.length ? ` (failed modules: ${failed.join(', ')})` : ''}`);
    const plan = rig.importClass({
      leadSeconds: o.leadSeconds ?? DEMO_TIMETABLE.leadSeconds,
      lessonSeconds: o.lessonSeconds ?? DEMO_TIMETABLE.lessonSeconds,
      breakSeconds: o.breakSeconds ?? DEMO_TIMETABLE.breakSeconds,
    });
    const ls = plan.lessons;
    log(
      `班次 ${plan.id}：学员 ${plan.trainees.length} 人（已采集人脸 ${rig.classroom.photos.size} 人），课时 ${ls.length} 个，${hhmmss(ls[0].start)} – ${hhmmss(ls[ls.length - 1].end)}`,
      `class ${plan.id}: ${plan.trainees.length} trainees (${rig.classroom.photos.size} enrolled), ${ls.length} lessons, ${hhmmss(ls[0].start)} – ${hhmmss(ls[ls.length - 1].end)}`,
    );
    await rig.checkInEveryone();
    // a terminal resending what it already sent (after a reboot) must not double anything
    rig.zk.cursor = 0;
    await rig.zk.sync();
    await finished;
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
    await daemon?.stop().catch(() => undefined);
    result.centralRecords = rig.received.length;
    await rig.stop();
  }
  say(L(`已停止。省信息系统共收到 ${result.centralRecords} 条记录。`, `Stopped. The provincial system received ${result.centralRecords} record(s).`));
  return result;
}
