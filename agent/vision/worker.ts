/**
 * The face-analysis thread. face-api's inference is synchronous wasm work of ~0.3-3 s per
 * frame; run on the daemon's event loop it would stall check-in HTTP servers and the recorder's
 * supervision. Here it has its own thread, and the parent can throw the whole thread away
 * (recycle) to return any memory the wasm heap grew to.
 */
import { parentPort } from 'node:worker_threads';
import { loadFaceApi, type Loaded } from './tf.js';
import { loadNets, modelVersion } from './models.js';
import { analyzeFrame, type DetectOptions } from './engine.js';
import { fusedWeights } from './ssd.js';
import { foldedRecognition } from './recognition.js';
import type { WorkerReply, WorkerRequest } from './protocol.js';

let l: Loaded | undefined;
let opts: DetectOptions = { minConfidence: 0.5, minFaceSize: 40, tileSize: 0, tileOverlap: 0 };
const port = parentPort!;

port.on('message', (msg: WorkerRequest) => {
  void handle(msg).then(
    (reply) => port.postMessage(reply),
    (err: Error) => port.postMessage({ type: 'error', id: 'id' in msg ? msg.id : -1, message: err.message } satisfies WorkerReply),
  );
});

async function handle(msg: WorkerRequest): Promise<WorkerReply> {
  if (msg.type === 'init') {
    l = await loadFaceApi(msg.backend);
    const m = await loadNets(l.faceapi, msg.modelsDir);
    fusedWeights(l); // made once, before the tensor count the client watches for leaks
    foldedRecognition(l);
    opts = { minConfidence: msg.minConfidence, minFaceSize: msg.minFaceSize, tileSize: msg.tileSize, tileOverlap: msg.tileOverlap, ...(msg.pieceArea ? { pieceArea: msg.pieceArea } : {}) };
    return { type: 'ready', backend: l.backend, fallbackReason: l.fallbackReason, model: modelVersion(m), numTensors: l.tf.memory().numTensors };
  }
  if (!l) throw new Error('worker not initialised');
  const t0 = performance.now();
  // stateless: the plan (full search, or focus regions) comes with the frame (focus.ts)
  const r = await analyzeFrame(l, { width: msg.width, height: msg.height, data: new Uint8Array(msg.data) }, opts, msg.plan);
  return {
    type: 'result',
    id: msg.id,
    faces: r.faces.map((f) => ({ box: f.box, score: f.score, descriptor: f.descriptor })),
    full: r.full,
    whole: r.whole,
    ms: performance.now() - t0,
    numTensors: l.tf.memory().numTensors,
    rss: process.memoryUsage().rss,
  };
}
