import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type * as FaceApiNs from '@vladmandic/face-api';
import { PACKAGE_ROOT } from '../core/paths.js';

export type FaceApi = typeof FaceApiNs;
/** tfjs-core's public API (typed loosely: the two backends bring their own copy of it) */
export type Tf = typeof import('@tensorflow/tfjs-core');
export type BackendName = 'tensorflow' | 'wasm';

export interface Loaded {
  faceapi: FaceApi;
  tf: Tf;
  backend: BackendName;
  /** why the preferred backend was not used, when it was not */
  fallbackReason?: string;
}

const require = createRequire(path.join(PACKAGE_ROOT, 'package.json'));
const loaded = new Map<string, Promise<Loaded>>();

/**
 * Load face-api on the best backend available, once per thread.
 *
 * why this is not a plain `import '@vladmandic/face-api'`: the package's Node builds require
 * `@tensorflow/tfjs-node` (native libtensorflow, downloaded from a Google host at install: fails
 * here and in mainland China) or the `@tensorflow/tfjs` umbrella package (which drags in
 * tfjs-layers, tfjs-data and the WebGL backend). We ship only tfjs-core + tfjs-converter +
 * tfjs-backend-wasm, so the wasm build is evaluated with `require('@tensorflow/tfjs')`
 * answered by core + converter, which is all face-api uses.
 */
export function loadFaceApi(pref: 'auto' | BackendName = 'auto'): Promise<Loaded> {
  let p = loaded.get(pref);
  if (!p) {
    p = doLoad(pref);
    loaded.set(pref, p);
    p.catch(() => loaded.delete(pref)); // a failure is not remembered: the next call tries again
  }
  return p;
}

async function doLoad(pref: 'auto' | BackendName): Promise<Loaded> {
  let reason: string | undefined;
  if (pref !== 'wasm') {
    try {
      return await loadNode();
    } catch (err) {
      reason = `@tensorflow/tfjs-node unavailable: ${(err as Error).message.split('\n')[0]}`;
      if (pref === 'tensorflow') throw new Error(`vision backend "tensorflow" requested but ${reason}`);
    }
  }
  try {
    const l = await loadWasm();
    return reason ? { ...l, fallbackReason: reason } : l;
  } catch (err) {
    throw new Error(
      `no face-api backend works: ${reason ?? 'tfjs-node not tried'}; wasm: ${(err as Error).message.split('\n')[0]} ` +
        '(reinstall with `npm ci`; @tensorflow/tfjs-backend-wasm must contain dist/*.wasm)',
    );
  }
}

async function loadNode(): Promise<Loaded> {
  // dynamic import inside try/catch: tfjs-node is an optional speed-up, never a dependency
  const name = '@tensorflow/tfjs-node';
  const mod = (await import(name)) as { default?: Tf } & Tf;
  // a CommonJS package: its API is on `default`; named exports only where Node's lexer found them
  const tf = (mod.default ?? mod) as Tf;
  const faceapi = require('@vladmandic/face-api/dist/face-api.node.js') as FaceApi;
  await tf.ready();
  return { faceapi, tf, backend: 'tensorflow' };
}

async function loadWasm(): Promise<Loaded> {
  const tf = require('@tensorflow/tfjs-core') as Tf;
  const converter = require('@tensorflow/tfjs-converter') as object;
  const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(p: string, usePlatformFetch?: boolean): void };
  registerChainedOps(tf);
  const file = require.resolve('@vladmandic/face-api/dist/face-api.node-wasm.js');
  const umbrella = { ...tf, ...converter };
  const req = (id: string): unknown => (id === '@tensorflow/tfjs' ? umbrella : require(id));
  const mod: { exports: unknown } = { exports: {} };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('require', 'module', 'exports', '__filename', '__dirname', fs.readFileSync(file, 'utf8'))(req, mod, mod.exports, file, path.dirname(file));
  const faceapi = mod.exports as FaceApi;
  // .wasm binaries from the installed package, read with fs (usePlatformFetch=false): no network
  const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  wasm.setWasmPaths(dir + path.sep, false);
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") failed');
  await tf.ready();
  return { faceapi, tf, backend: 'wasm' };
}

/**
 * Tensor methods like `t.as3D()` are "chained ops" that the @tensorflow/tfjs umbrella registers
 * by importing tfjs-core/dist/public/chained_ops/*. Those files are ESM sources written against
 * tfjs-core's internal modules; the CJS bundle we load does not run them. Each file is one
 * assignment `getGlobalTensorClass().prototype.X = function (...) { ... op(this, ...) }` using
 * public ops only, so we run each body with those ops bound from the CJS bundle.
 */
function registerChainedOps(tf: Tf): void {
  const T = (tf as unknown as { Tensor: { prototype: Record<string, unknown> } }).Tensor;
  if (typeof T.prototype.as3D === 'function') return;
  const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist', 'public', 'chained_ops');
  const api = tf as unknown as Record<string, unknown>;
  const names = Object.keys(api).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && typeof api[k] === 'function');
  const values = names.map((k) => api[k]);
  for (const f of fs.readdirSync(dir)) {
    if (!f.endsWith('.js') || f.includes('_test') || f.startsWith('register_all')) continue;
    const body = fs
      .readFileSync(path.join(dir, f), 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('import ') && !l.startsWith('//# sourceMappingURL'))
      .join('\n')
      .replaceAll('getGlobalTensorClass()', '__T');
    new Function('__T', 'assert', ...names, body)(T, tf.util.assert, ...values);
  }
  if (typeof T.prototype.as3D !== 'function') throw new Error('tfjs chained ops could not be registered');
}
