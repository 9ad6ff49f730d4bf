import fs from 'node:fs';
import path from 'node:path';
import { MODELS_DIR } from '../core/paths.js';
import { PEOPLE } from '../sim/faces/people.js';
import { detectFaces } from '../vision/engine.js';
import { ffmpegFrames, type RgbFrame } from '../vision/frames.js';
import { loadNets, packagedModelDir, readManifest, verifyModels } from '../vision/models.js';
import { loadFaceApi } from '../vision/tf.js';
import { needsConfig, type Check } from './check.js';

/** face-api's own demo photo; PEOPLE (agent/sim/faces/people.ts) holds its hand-checked faces. */
export function selfTestPhoto(): { file: string; faces: number } {
  return { file: path.join(path.dirname(packagedModelDir()), 'demo', 'sample1.jpg'), faces: PEOPLE.filter((p) => p.sample === 1).length };
}

const REINSTALL = {
  zh: '在安装目录运行 npm ci 重新安装依赖（不要手动替换模型文件），再运行 classroom-agent doctor',
  en: 'run npm ci in the install folder to reinstall the dependencies (never replace model files by hand), then run classroom-agent doctor again',
};

export const faceCheck: Check = {
  id: 'face',
  title: { zh: '人脸识别引擎', en: 'face recognition engine' },
  async run(env) {
    const skip = needsConfig(env);
    if (skip) return skip;
    const cfg = env.cfg!;
    if (!cfg.vision.enabled) return { status: 'ok', detail: 'vision disabled in the config (vision.enabled: false): not tested' };
    // the weights first: the agent refuses to run on weights nobody vetted, so does the doctor
    let problems: string[];
    try {
      problems = verifyModels(MODELS_DIR, readManifest(MODELS_DIR));
    } catch (err) {
      return { status: 'fail', detail: `models/manifest.json: ${(err as Error).message}`, fix: REINSTALL };
    }
    const missingOnly = problems.every((p) => p.endsWith(': missing'));
    if (problems.length && !missingOnly) return { status: 'fail', detail: `model weights differ from models/manifest.json: ${problems.join('; ')}`, fix: REINSTALL };
    const t0 = Date.now();
    let l;
    try {
      l = await loadFaceApi(cfg.vision.backend);
    } catch (err) {
      return {
        status: 'fail',
        detail: (err as Error).message,
        fix:
          cfg.vision.backend === 'tensorflow'
            ? { zh: '把 vision.backend 改为 auto（使用 wasm），或安装 @tensorflow/tfjs-node', en: 'set vision.backend to auto (uses wasm), or install @tensorflow/tfjs-node' }
            : REINSTALL,
      };
    }
    // missing weights are copied from the installed face-api package and verified by loadNets (as the daemon does)
    try {
      await loadNets(l.faceapi, MODELS_DIR);
    } catch (err) {
      return { status: 'fail', detail: `models: ${(err as Error).message}`, fix: REINSTALL };
    }
    const loadMs = Date.now() - t0;
    const photo = selfTestPhoto();
    if (!fs.existsSync(photo.file)) return { status: 'fail', detail: `self-test photo ${photo.file} missing`, fix: REINSTALL };
    let frame: RgbFrame | undefined;
    try {
      // at the width the daemon analyses (vision.frameWidth, never enlarged): the time is then the real per-frame cost
      [frame] = await ffmpegFrames(['-i', photo.file, '-frames:v', '1', '-vf', `scale='min(${cfg.vision.frameWidth},iw)':-2`, '-f', 'image2pipe', '-c:v', 'ppm', '-'], {
        ffmpegPath: cfg.recorder.ffmpegPath,
      });
      if (!frame) throw new Error('no picture decoded');
    } catch (err) {
      return { status: 'fail', detail: `cannot decode ${photo.file}: ${(err as Error).message}`, fix: { zh: '先修好 ffmpeg（见 ffmpeg 检查）', en: 'fix ffmpeg first (see the ffmpeg check)' } };
    }
    const t1 = Date.now();
    const faces = await detectFaces(l, frame, { minConfidence: cfg.vision.minConfidence, minFaceSize: 20 });
    const detectMs = Date.now() - t1;
    const backend = `${l.backend === 'tensorflow' ? 'tfjs-node' : 'wasm'}${l.fallbackReason ? ' (tfjs-node not installed)' : ''}`;
    const detail = `backend ${backend}, models verified (${readManifest(MODELS_DIR).files.length} files), loaded in ${loadMs} ms; self-test: ${faces.length} of ${photo.faces} faces in sample1.jpg at ${frame.width}x${frame.height} in ${detectMs} ms (first frame, includes warm-up)`;
    if (faces.length !== photo.faces) {
      return {
        status: 'fail',
        detail,
        fix: {
          zh: `自检识别结果不对：检查 vision.minConfidence（当前 ${cfg.vision.minConfidence}，默认 0.5），并用 npm ci 重新安装`,
          en: `the self-test found the wrong faces: check vision.minConfidence (now ${cfg.vision.minConfidence}, default 0.5) and reinstall with npm ci`,
        },
      };
    }
    // a 1280-wide frame every 10 s per camera: several seconds per frame means the box cannot keep up with several cameras
    if (detectMs > 5000) {
      return {
        status: 'warn',
        detail,
        fix: {
          zh: 'CPU 较慢：增大 vision.sampleEverySeconds 或减小 vision.frameWidth，或减少开启识别的摄像机',
          en: 'slow CPU: raise vision.sampleEverySeconds or lower vision.frameWidth, or analyse fewer cameras',
        },
      };
    }
    return { status: 'ok', detail };
  },
};
