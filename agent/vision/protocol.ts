import type { FaceFound } from './engine.js';
import type { BackendName } from './tf.js';

/** Messages between the daemon and the face-analysis worker thread. */
export type WorkerRequest =
  | { type: 'init'; backend: 'auto' | BackendName; modelsDir: string; minConfidence: number; minFaceSize: number; tileSize: number; tileOverlap: number }
  | { type: 'analyze'; id: number; width: number; height: number; data: ArrayBuffer };

export type WorkerReply =
  | { type: 'ready'; backend: BackendName; fallbackReason?: string; model: string; numTensors: number }
  | { type: 'result'; id: number; faces: FaceFound[]; ms: number; numTensors: number; rss: number }
  | { type: 'error'; id: number; message: string };
