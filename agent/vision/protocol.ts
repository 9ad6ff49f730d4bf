import type { Box, FaceFound } from './engine.js';
import type { FramePlan } from './focus.js';
import type { BackendName } from './tf.js';

/** Messages between the daemon and the face-analysis worker thread. */
export type WorkerRequest =
  | { type: 'init'; backend: 'auto' | BackendName; modelsDir: string; minConfidence: number; minFaceSize: number; tileSize: number; tileOverlap: number; pieceArea?: number }
  | { type: 'analyze'; id: number; width: number; height: number; data: ArrayBuffer; plan: FramePlan };

export type WorkerReply =
  | { type: 'ready'; backend: BackendName; fallbackReason?: string; model: string; numTensors: number }
  | { type: 'result'; id: number; faces: FaceFound[]; full: boolean; whole: Box[]; ms: number; numTensors: number; rss: number }
  | { type: 'error'; id: number; message: string };
