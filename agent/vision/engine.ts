import type { Loaded } from './tf.js';
import type { RgbFrame } from './frames.js';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface FaceFound {
  box: Box;
  score: number;
  /** 128-d face descriptor; stays inside the box (never logged, never sent) */
  descriptor: Float32Array;
}

export interface DetectOptions {
  minConfidence: number;
  /** faces narrower than this (pixels of the analysed frame) get no descriptor: too few pixels to tell people apart */
  minFaceSize: number;
}

/**
 * One frame through face-api: SSD detection, 68-point landmarks (alignment), descriptors.
 * Every tensor made here is disposed before returning; face-api's own intermediates are
 * disposed by face-api (checked by the numTensors test and the soak bench).
 */
export async function detectFaces(l: Loaded, frame: RgbFrame, o: DetectOptions): Promise<FaceFound[]> {
  const { faceapi, tf } = l;
  const input = tf.tensor3d(frame.data, [frame.height, frame.width, 3], 'int32');
  try {
    const opts = new faceapi.SsdMobilenetv1Options({ minConfidence: o.minConfidence, maxResults: 100 });
    const found = await faceapi.detectAllFaces(input as never, opts).withFaceLandmarks().withFaceDescriptors();
    return found
      .filter((f) => f.detection.box.width >= o.minFaceSize)
      .map((f) => {
        const b = f.detection.box;
        return { box: { x: b.x, y: b.y, width: b.width, height: b.height }, score: f.detection.score, descriptor: f.descriptor };
      });
  } finally {
    input.dispose();
  }
}

/** Detection only (no descriptors): cheaper, used by enrollment to reject unusable photos early. */
export async function detectBoxes(l: Loaded, frame: RgbFrame, minConfidence: number): Promise<{ box: Box; score: number }[]> {
  const { faceapi, tf } = l;
  const input = tf.tensor3d(frame.data, [frame.height, frame.width, 3], 'int32');
  try {
    const found = await faceapi.detectAllFaces(input as never, new faceapi.SsdMobilenetv1Options({ minConfidence, maxResults: 100 }));
    return found.map((d) => ({ box: { x: d.box.x, y: d.box.y, width: d.box.width, height: d.box.height }, score: d.score }));
  } finally {
    input.dispose();
  }
}
