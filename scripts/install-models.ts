/**
 * Copy the face weights listed in models/manifest.json from node_modules/@vladmandic/face-api/model
 * into models/ and verify size and SHA-256. The vision module does the same on first use, so a
 * clean clone needs no extra step; this script is for installers and for checking a box by hand:
 *   node dist/scripts/install-models.js [DIR]
 */
import { MODELS_DIR } from '../agent/core/paths.js';
import { ensureModels, modelVersion } from '../agent/vision/models.js';

const dir = process.argv[2] ?? MODELS_DIR;
try {
  const m = ensureModels(dir);
  console.log(`模型已就绪 / models ready in ${dir}: ${m.files.length} files, ${modelVersion(m)}`);
} catch (err) {
  console.error(`模型校验失败 / model check failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
