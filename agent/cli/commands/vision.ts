import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { MODELS_DIR } from '../../core/paths.js';
import { FaceRepo } from '../../store/faces.js';
import { confirmSighting, enrollTrainee } from '../../vision/enroll.js';
import { calibrate } from '../../vision/calibrate.js';
import { resolveFaceKey } from '../../vision/keysource.js';
import { ensureModels, modelVersion, readManifest, verifyModels } from '../../vision/models.js';
import { VisionModule } from '../../vision/module.js';
import { loadFaceApi } from '../../vision/tf.js';
import { action, configOf, langOf, openStore } from '../context.js';
import { t } from '../i18n.js';
import { RecordingRepo } from '../../store/recordings.js';
import { createContext } from '../../core/context.js';

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

export function register(program: Command): void {
  program
    .command('consent')
    .description("登记学员人脸识别单独同意（采集前必须）/ record a trainee's separate consent to face recognition (required before enrollment)")
    .argument('<traineeId>', '学员编号 / trainee id')
    .option('--by <name>', '登记人 / who recorded the consent')
    .option('--method <method>', '方式：written 书面、electronic 电子 / how it was given', 'written')
    .option('--guardian', '由监护人同意（未满14周岁）/ given by a guardian (trainee under 14)')
    .option('--note <text>', '备注 / note')
    .option('--revoke', "撤回同意并删除其人脸数据 / revoke consent and delete the trainee's face data")
    .option('--withdraw', '同 --revoke / same as --revoke')
    .action(
      action((trainee: string, o: { by?: string; method: string; guardian?: boolean; note?: string; revoke?: boolean; withdraw?: boolean }, cmd: Command) => {
        const lang = langOf(cmd);
        const store = openStore(configOf(cmd));
        try {
          const faces = new FaceRepo(store);
          if (o.revoke || o.withdraw) {
            const n = faces.revokeConsent(trainee, Date.now(), { recordedBy: o.by, method: o.method, note: o.note });
            out(t(lang, `已撤回 ${trainee} 的同意，删除人脸特征 ${n} 条`, `Consent of ${trainee} revoked; ${n} face descriptor(s) deleted`));
            return;
          }
          if (!o.by) throw new InputError('consent', [{ path: '--by', message: t(lang, '必须注明登记人', 'name who recorded the consent') }]);
          faces.giveConsent(trainee, { recordedBy: o.by, method: o.method, guardian: o.guardian, note: o.note }, Date.now());
          out(t(lang, `已登记 ${trainee} 的人脸识别同意（${o.method}，登记人 ${o.by}）`, `Consent of ${trainee} to face recognition recorded (${o.method}, by ${o.by})`));
        } finally {
          store.close();
        }
      }),
    );

  program
    .command('enroll')
    .description("人脸采集：从至少两张照片提取特征（加密保存，不保留照片）/ enroll a trainee's face from two or more photos (descriptors encrypted; photos not kept)")
    .argument('<traineeId>', '学员编号 / trainee id')
    .argument('<photos...>', '照片（每张一人、清晰、正脸）/ photos: one person each, sharp, frontal')
    .option('--consent-by <name>', "同时登记书面同意（登记人）/ also record the trainee's written consent, recorded by NAME")
    .option('--add', '追加而不替换已有特征 / add to the existing descriptors instead of replacing them')
    .option('--json', 'JSON')
    .action(
      action(async (trainee: string, photos: string[], o: { consentBy?: string; add?: boolean; json?: boolean }, cmd: Command) => {
        const lang = langOf(cmd);
        const cfg = configOf(cmd);
        const store = openStore(cfg);
        try {
          // consent given at the desk is recorded only with the accepted photos (enrollTrainee)
          const consent = o.consentBy ? { recordedBy: o.consentBy, method: 'written' } : undefined;
          const r = await enrollTrainee(cfg, store, trainee, photos, { replace: !o.add, consent });
          if (o.json) out(JSON.stringify(r, null, 1));
          else {
            out(
              t(
                lang,
                `已采集 ${trainee}：${r.checks.length} 张照片（共 ${r.photos} 张），模型 ${r.model}，后端 ${r.backend}`,
                `Enrolled ${trainee}: ${r.checks.length} photo(s) (${r.photos} in all), model ${r.model}, backend ${r.backend}`,
              ),
            );
            for (const c of r.checks) out(`  ${c.photo}: ${t(lang, '人脸宽', 'face')} ${c.facePx}px, ${t(lang, '清晰度', 'sharpness')} ${c.sharpness}`);
            for (const a of r.lookAlikes)
              out(
                `! ${t(lang, `与已采集学员 ${a.trainee} 很相似（距离 ${a.distance}），请人工确认是不同的人；课堂上可能混淆`, `close to enrolled trainee ${a.trainee} (distance ${a.distance}): check by eye they are different people; the classroom may confuse them`)}`,
              );
          }
        } finally {
          store.close();
        }
      }),
    );

  const v = program.command('vision').description('人脸识别（谁在画面中）/ face recognition: who is on camera');
  v.command('status')
    .description('后端、模型校验、已采集人数 / backend, model check, enrollment')
    .option('--json', 'JSON')
    .action(
      action(async (o: { json?: boolean }, cmd: Command) => {
        const lang = langOf(cmd);
        const cfg = configOf(cmd);
        let modelProblems: string[] = [];
        let model = '';
        try {
          const m = ensureModels();
          model = modelVersion(m);
        } catch {
          modelProblems = verifyModels(MODELS_DIR, readManifest());
        }
        let backend = '';
        let fallbackReason: string | undefined;
        let backendError: string | undefined;
        try {
          const l = await loadFaceApi(cfg.vision.backend);
          backend = l.backend;
          fallbackReason = l.fallbackReason;
        } catch (err) {
          backendError = (err as Error).message;
        }
        const store = openStore(cfg);
        let enrolled: { trainee: string; model: string; n: number }[];
        try {
          enrolled = new FaceRepo(store).enrollment();
        } finally {
          store.close();
        }
        const s = {
          enabled: cfg.vision.enabled,
          backend,
          fallbackReason,
          backendError,
          model,
          modelsDir: MODELS_DIR,
          modelProblems,
          keyFile: resolveFaceKey(cfg).file,
          keySource: resolveFaceKey(cfg).source,
          enrolledTrainees: new Set(enrolled.filter((e) => e.model === model).map((e) => e.trainee)).size,
          staleEnrollments: enrolled.filter((e) => e.model !== model).length,
          threshold: cfg.vision.threshold,
          margin: cfg.vision.margin,
          minFrames: cfg.vision.minFrames,
        };
        if (o.json) out(JSON.stringify(s, null, 1));
        else {
          out(`${t(lang, '后端', 'Backend')}: ${backend || t(lang, '不可用', 'unavailable')}${fallbackReason ? ` (${fallbackReason})` : ''}${backendError ? ` — ${backendError}` : ''}`);
          out(`${t(lang, '模型', 'Model')}: ${model || modelProblems.join('; ')} [${MODELS_DIR}]`);
          out(`${t(lang, '密钥文件', 'Key file')}: ${s.keyFile} (${s.keySource})`);
          out(
            `${t(lang, '已采集学员', 'Enrolled trainees')}: ${s.enrolledTrainees}${s.staleEnrollments ? t(lang, `（${s.staleEnrollments} 条旧模型特征需重新采集）`, ` (${s.staleEnrollments} descriptor set(s) of another model: re-enroll)`) : ''}`,
          );
          out(`${t(lang, '阈值', 'Threshold')} ${s.threshold}, ${t(lang, '差距', 'margin')} ${s.margin}, ${t(lang, '最少帧数', 'min frames')} ${s.minFrames}`);
        }
        return backendError || modelProblems.length ? 1 : 0;
      }),
    );

  v.command('calibrate')
    .description(
      '校准：本班登记照片与课堂录像（按摄像头）的特征距离分布与建议阈值 / distance distributions of a class from its enrollment photos and, per camera, its confirmed classroom faces and strangers, with suggested thresholds',
    )
    .argument('<classId>', '班次编号 / class id')
    .option('--json', 'JSON')
    .action(
      action(async (classId: string, o: { json?: boolean }, cmd: Command) => {
        const lang = langOf(cmd);
        const cfg = configOf(cmd);
        const model = modelVersion(ensureModels());
        const store = openStore(cfg);
        try {
          const c = await calibrate(cfg, store, classId, model);
          if (o.json) {
            out(JSON.stringify(c, null, 1));
            return;
          }
          const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '-');
          out(t(lang, `班次 ${classId}：已采集 ${c.enrolled.length} 人，未采集 ${c.notEnrolled.length} 人`, `Class ${classId}: ${c.enrolled.length} enrolled, ${c.notEnrolled.length} not enrolled`));
          out(
            t(
              lang,
              `不同学员间距离：${c.between.n} 对，最小 ${f(c.between.min)}，5% 分位 ${f(c.between.p5)}，中位 ${f(c.between.median)}`,
              `Between different trainees: ${c.between.n} pairs, min ${f(c.between.min)}, 5th percentile ${f(c.between.p5)}, median ${f(c.between.median)}`,
            ),
          );
          out(t(lang, `同一学员照片间距离：${c.within.n} 对，最大 ${f(c.within.max)}`, `Between photos of the same trainee: ${c.within.n} pairs, max ${f(c.within.max)}`));
          out(t(lang, '距离分布（区间：不同人 / 同一人）', 'Distribution (range: different / same person)'));
          for (const h of c.histogram) out(`  ${h.from.toFixed(1)}-${h.to.toFixed(1)}: ${'#'.repeat(Math.min(40, h.between))} ${h.between} / ${h.within}`);
          out(t(lang, '最相近的学员（请人工核对）：', 'Closest pairs (check by eye):'));
          for (const p of c.closest) out(`  ${p.a} ~ ${p.b}: ${f(p.distance)}`);
          if (c.suggestedThreshold !== null) {
            out(t(lang, `建议阈值 ${c.suggestedThreshold}（当前配置 ${c.configuredThreshold}）`, `Suggested threshold ${c.suggestedThreshold} (configured ${c.configuredThreshold})`));
            out(
              t(
                lang,
                `该阈值下：预计识别率 ${((c.expectedRecall ?? 0) * 100).toFixed(0)}%（同一人照片对），与最相近的他人相差 ${f(c.strangerMargin ?? NaN)}`,
                `At it: expected recall ${((c.expectedRecall ?? 0) * 100).toFixed(0)}% (same-person pairs), ${f(c.strangerMargin ?? NaN)} under the closest different person`,
              ),
            );
          }
          if (c.warning) out(`! ${c.warning}`);
          if (!c.cameras.length)
            out(t(lang, '课堂录像：尚无已确认的识别记录（vision confirm），无法按摄像头校准', 'Classroom video: no confirmed sightings yet (vision confirm), so no per-camera calibration'));
          for (const k of c.cameras) {
            out(t(lang, `摄像头 ${k.camera}（课堂录像中已确认的人脸）：`, `Camera ${k.camera} (confirmed faces from the classroom video):`));
            out(
              t(
                lang,
                `  本班学员与自身：${k.same.n} 张，中位 ${f(k.same.median)}，最大 ${f(k.same.max)}；非本班人员距本班最近：${k.strangers.n} 张，最小 ${f(k.strangers.min)}；与本班其他学员最近：${f(k.others.min)}`,
                `  this class's trainees to themselves: ${k.same.n}, median ${f(k.same.median)}, max ${f(k.same.max)}; people of no trainee of this class (strangers) to the nearest trainee: ${k.strangers.n}, min ${f(k.strangers.min)}; to the nearest other trainee: ${f(k.others.min)}`,
              ),
            );
            for (const h of k.histogram) out(`    ${h.from.toFixed(1)}-${h.to.toFixed(1)}: ${h.same} / ${h.strangers}`);
            if (k.suggestedThreshold !== null)
              out(
                t(
                  lang,
                  `  建议阈值 ${k.suggestedThreshold}（当前 ${k.configuredThreshold}）：预计识别率 ${((k.expectedRecall ?? 0) * 100).toFixed(0)}%，距最近陌生人 ${f(k.strangerMargin ?? NaN)}；配置：vision.cameraThresholds: { ${k.camera}: ${k.suggestedThreshold} }`,
                  `  suggested threshold ${k.suggestedThreshold} (configured ${k.configuredThreshold}): expected recall ${((k.expectedRecall ?? 0) * 100).toFixed(0)}%, ${f(k.strangerMargin ?? NaN)} under the nearest stranger; config: vision.cameraThresholds: { ${k.camera}: ${k.suggestedThreshold} }`,
                ),
              );
            if (k.warning) out(`  ! ${k.warning}`);
          }
        } finally {
          store.close();
        }
      }),
    );

  v.command('evidence')
    .description("一名学员在一个课时的识别证据（帧、位置、距离、差距、轨迹）/ what a reviewer checks: a trainee's matched frames in a lesson")
    .argument('<classId>', '班次编号 / class id')
    .argument('<lessonId>', '课时编号 / lesson id')
    .argument('<traineeId>', '学员编号 / trainee id')
    .option('--json', 'JSON')
    .action(
      action((classId: string, lessonId: string, trainee: string, o: { json?: boolean }, cmd: Command) => {
        const lang = langOf(cmd);
        const store = openStore(configOf(cmd));
        try {
          const ev = new FaceRepo(store).sightingEvidence(classId, lessonId, trainee);
          if (o.json) return void out(JSON.stringify(ev, null, 1));
          if (!ev.length) out(t(lang, '无匹配记录', 'no matches'));
          for (const e of ev) {
            const b = e.box ? `${Math.round(e.box.x)},${Math.round(e.box.y)} ${Math.round(e.box.width)}×${Math.round(e.box.height)}` : '-';
            out(
              `#${e.id} ${e.camera} ${new Date(e.at).toISOString()} ${t(lang, '录像', 'recording')} ${e.recordingId} +${e.offsetMs}ms ${t(lang, '位置', 'box')} ${b} ${t(lang, '距离', 'distance')} ${e.distance.toFixed(3)} ${t(lang, '差距', 'margin')} ${e.margin.toFixed(3)}${e.track ? ` ${t(lang, '轨迹', 'track')} ${e.track}` : ''}${e.promoted ? '' : t(lang, '（未达帧数）', ' (not yet agreed)')}${e.hasCrop ? t(lang, '（有截图）', ' (crop kept)') : ''}`,
            );
          }
        } finally {
          store.close();
        }
      }),
    );

  v.command('confirm')
    .description('确认一条课堂匹配为该学员的新样本（加密保存，需同意）/ confirm a classroom match as a further sample of that trainee (sealed; consent required)')
    .argument('<matchId>', '匹配编号（见 vision evidence）/ match id, from vision evidence')
    .requiredOption('--by <name>', '确认人 / who checked it by eye')
    .action(
      action(async (id: string, o: { by: string }, cmd: Command) => {
        const lang = langOf(cmd);
        const cfg = configOf(cmd);
        if (!/^\d+$/.test(id)) throw new InputError('confirm', [{ path: 'MATCH_ID', message: t(lang, `匹配编号应为数字：${id}`, `a match id is a number: ${id}`) }]);
        const store = openStore(cfg);
        try {
          const r = await confirmSighting(cfg, store, Number(id), o.by);
          out(t(lang, `已将课堂人脸（宽 ${r.facePx} 像素）加入 ${r.trainee} 的样本，共 ${r.photos} 个`, `Classroom face (${r.facePx} px) added to ${r.trainee}'s samples: ${r.photos} in all`));
        } finally {
          store.close();
        }
      }),
    );

  v.command('scan')
    .description('对已索引的录像段重新做人脸识别 / run face recognition on indexed recordings (by recording id)')
    .argument('<recordingIds...>', '录像段编号 / recording ids')
    .option('--json', 'JSON')
    .action(
      action(async (ids: string[], o: { json?: boolean }, cmd: Command) => {
        const lang = langOf(cmd);
        const cfg = configOf(cmd);
        // the daemon's own context (profile, retention, paths), with vision's logger
        const ctx = createContext(cfg, { log: logger('vision') });
        const store = ctx.store;
        const mod = new VisionModule(ctx, { catchUpHours: 0 });
        try {
          const faces = new FaceRepo(store);
          const rows = ids.map((id, i) => {
            const r = /^\d+$/.test(id) ? faces.recording(Number(id)) : undefined;
            if (!r) throw new InputError('scan', [{ path: `RECORDING_ID[${i}]`, message: t(lang, `录像段 ${id} 不存在或其文件已删除`, `no recording ${id}, or its file was deleted`) }]);
            return r;
          });
          await mod.start();
          const results = [];
          for (const r of rows) {
            const res = await mod.processSegment(r);
            results.push({ recording: r.id, ...res });
            if (!o.json)
              out(
                t(
                  lang,
                  `录像段 ${r.id}：分析 ${res.analysed}/${res.frames} 帧，新增目击 ${res.sightings} 条，学员 ${res.trainees.join(', ') || '-'}，陌生人脸 ${res.unknownFaces}`,
                  `Recording ${r.id}: ${res.analysed}/${res.frames} frames analysed, ${res.sightings} new sightings, trainees ${res.trainees.join(', ') || '-'}, unknown faces ${res.unknownFaces}`,
                ),
              );
          }
          if (o.json) out(JSON.stringify({ backend: mod.status()?.backend, results }, null, 1));
          else out(`${t(lang, '后端', 'Backend')}: ${mod.status()?.backend}`);
        } finally {
          await mod.stop();
          store.close();
        }
      }),
    );
}
