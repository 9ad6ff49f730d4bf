import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { MODELS_DIR, PACKAGE_ROOT } from '../core/paths.js';
import type { FaceApi } from './tf.js';

export interface ModelFile {
  name: string;
  bytes: number;
  sha256: string;
}
export interface ModelManifest {
  source: string;
  sourceVersion: string;
  recognitionModel: string;
  files: ModelFile[];
}

const require = createRequire(path.join(PACKAGE_ROOT, 'package.json'));

export function readManifest(dir = MODELS_DIR): ModelManifest {
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as ModelManifest;
  if (!Array.isArray(m.files) || !m.files.every((f) => typeof f.name === 'string' && /^[0-9a-f]{64}$/.test(f.sha256) && Number.isInteger(f.bytes))) {
    throw new Error(`${file}: files[] must list {name, bytes, sha256}`);
  }
  return m;
}

/**
 * The id stored beside every descriptor: descriptors of different models (or of the same
 * model with other weights) are not comparable, so a change of weights means re-enrollment.
 */
export function modelVersion(m: ModelManifest): string {
  const rec = m.files.find((f) => f.name === `${m.recognitionModel}.bin`);
  return `${m.source}@${m.sourceVersion}/${m.recognitionModel}#${rec?.sha256.slice(0, 12) ?? 'unknown'}`;
}

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Problems of the weights in `dir` against the manifest; empty when every file matches. */
export function verifyModels(dir = MODELS_DIR, m = readManifest(dir)): string[] {
  const problems: string[] = [];
  for (const f of m.files) {
    const p = path.join(dir, f.name);
    if (!fs.existsSync(p)) problems.push(`${f.name}: missing`);
    else if (fs.statSync(p).size !== f.bytes) problems.push(`${f.name}: ${fs.statSync(p).size} bytes, manifest says ${f.bytes}`);
    else if (sha256(p) !== f.sha256) problems.push(`${f.name}: SHA-256 differs from the manifest`);
  }
  return problems;
}

/** Where the installed @vladmandic/face-api keeps its weights. */
export function packagedModelDir(): string {
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

/** The manifest, and the folder whose weights were verified against it (the one to load from). */
export type VerifiedModels = ModelManifest & { dir: string };

/**
 * Copy the manifest's weights from the installed face-api package into `dir` (missing files
 * only; atomically, since several processes may start at once), then verify everything.
 * Throws listing every mismatch: the agent never runs on weights nobody vetted.
 *
 * When `dir` cannot be written (the systemd unit's ProtectSystem=strict makes the program's
 * folder read-only, and an install without scripts/install.sh never copied the weights), the
 * packaged weights are verified where they are and loaded from there: the same bytes, checked
 * against the same manifest.
 */
export function ensureModels(dir = MODELS_DIR, from = packagedModelDir()): VerifiedModels {
  const m = readManifest(dir);
  let readOnly = false;
  for (const f of m.files) {
    const dst = path.join(dir, f.name);
    if (fs.existsSync(dst)) continue;
    const src = path.join(from, f.name);
    if (!fs.existsSync(src)) continue; // reported as missing below
    const tmp = `${dst}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    try {
      fs.copyFileSync(src, tmp);
      fs.renameSync(tmp, dst);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EROFS' && code !== 'EACCES' && code !== 'EPERM') throw err;
      readOnly = true;
      break;
    }
  }
  const problems = verifyModels(dir, m);
  if (problems.length && readOnly) {
    const packaged = verifyModels(from, m);
    if (!packaged.length) return { ...m, dir: from };
    throw new Error(
      `${dir} is read-only and lacks face model weights (run node dist/scripts/install-models.js as root); the packaged weights in ${from} do not match models/manifest.json either (refusing to load): ${packaged.join('; ')}`,
    );
  }
  if (problems.length) {
    throw new Error(`face model weights in ${dir} do not match models/manifest.json (refusing to load): ${problems.join('; ')}`);
  }
  return { ...m, dir };
}

/** The three nets the agent uses, loaded from verified weights only. */
export async function loadNets(faceapi: FaceApi, dir = MODELS_DIR): Promise<VerifiedModels> {
  const m = ensureModels(dir);
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(m.dir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(m.dir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(m.dir);
  return m;
}
