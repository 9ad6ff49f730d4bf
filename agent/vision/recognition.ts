import type { Loaded } from './tf.js';

type T = import('@tensorflow/tfjs-core').Tensor;
/** face-api's recognition net weights (`faceapi.nets.faceRecognitionNet.params`), typed loosely: read by layer name below */
// biome-ignore lint/suspicious/noExplicitAny: face-api's nested weight maps (tensors and sub-maps by layer name)
type Params = Record<string, any>;
/** one convolution with face-api's bias and scale folded in */
interface Folded {
  filter: T;
  bias: T;
}

/** the residual blocks of face-api's recognition net (a ResNet-34 variant), in order; `down` halves the side */
const BLOCKS: { name: string; down?: true }[] = [
  { name: 'conv32_1' },
  { name: 'conv32_2' },
  { name: 'conv32_3' },
  { name: 'conv64_down', down: true },
  { name: 'conv64_1' },
  { name: 'conv64_2' },
  { name: 'conv64_3' },
  { name: 'conv128_down', down: true },
  { name: 'conv128_1' },
  { name: 'conv128_2' },
  { name: 'conv256_down', down: true },
  { name: 'conv256_1' },
  { name: 'conv256_2' },
  { name: 'conv256_down_out', down: true },
];

const foldedByNet = new WeakMap<object, Map<string, Folded>>();

function params(l: Loaded): Params {
  const p = (l.faceapi.nets.faceRecognitionNet as unknown as { params?: Params }).params;
  if (!p) throw new Error('face recognition weights are not loaded');
  return p;
}

/**
 * Each convolution of face-api's recognition net with its bias and scale layer folded in, made
 * once per loaded net (call it before counting tensors: the vision worker does at start).
 * face-api runs every layer as conv, bias add, multiply, add, relu: four passes over the output
 * in tfjs-wasm's plain broadcasting loops besides XNNPACK's convolution; measured with
 * `tf.profile` on one face (load 3): Conv2D 55 ms, Add 18, Concat 7, Relu 3, Multiply 2. The
 * same arithmetic reordered: (conv(x, w) + b) · s + c = conv(x, w · s) + (b · s + c), one fused
 * op with its relu (descriptors agree with face-api's to float rounding: recognition.test.ts).
 */
export function foldedRecognition(l: Loaded): Map<string, Folded> {
  const p = params(l);
  let m = foldedByNet.get(p);
  if (m) return m;
  m = new Map();
  const { tf } = l;
  const fold = (key: string, q: Params) =>
    m!.set(
      key,
      tf.tidy(() => ({
        filter: tf.keep(tf.mul(q.conv.filters, q.scale.weights)),
        bias: tf.keep(tf.add(tf.mul(q.conv.bias, q.scale.weights), q.scale.biases)),
      })),
    );
  fold('conv32_down', p.conv32_down);
  for (const b of BLOCKS) {
    fold(`${b.name}/conv1`, p[b.name].conv1);
    fold(`${b.name}/conv2`, p[b.name].conv2);
  }
  foldedByNet.set(p, m);
  return m;
}

/**
 * The 128-d descriptor of one aligned face tensor (h × w × 3, 0-255), as face-api's
 * `faceRecognitionNet.computeFaceDescriptor` computes it: the same input preparation (face-api's
 * own NetInput: padded to a centred square, resized to 150 × 150), the same weights and layers,
 * each convolution one fused op (foldedRecognition). The residual blocks keep face-api's
 * structure; where a block halves the side and doubles the channels, the shortcut's missing
 * channels are zeros padded in one op instead of face-api's zeros + concat.
 */
export async function recognize(l: Loaded, face: T): Promise<Float32Array> {
  const { tf, faceapi } = l;
  const p = params(l);
  const w = foldedRecognition(l);
  const input = await faceapi.toNetInput(face as never);
  const out = tf.tidy(() => {
    const conv = (x: T, key: string, strides: 1 | 2, relu: boolean, pad: 'same' | 'valid' = 'same'): T =>
      tf.fused.conv2d({ x: x as never, filter: w.get(key)!.filter as never, strides, pad, bias: w.get(key)!.bias, activation: relu ? 'relu' : 'linear' });
    const batch = tf.cast(input.toBatchTensor(150, true) as unknown as T, 'float32');
    const normalized = tf.div(tf.sub(batch, tf.tensor1d([122.782, 117.001, 104.298])), 255);
    let x: T = conv(normalized, 'conv32_down', 2, true, 'valid');
    x = tf.maxPool(x as never, 3, 2, 'valid');
    for (const b of BLOCKS) {
      let y = b.down ? conv(x, `${b.name}/conv1`, 2, true, 'valid') : conv(x, `${b.name}/conv1`, 1, true);
      y = conv(y, `${b.name}/conv2`, 1, false);
      let short: T = x;
      if (b.down) {
        short = tf.avgPool(x as never, 2, 2, 'valid');
        const [, sh, sw, sc] = short.shape as number[];
        const [, yh, yw, yc] = y.shape as number[];
        // face-api pads the convolution's side with a zero row and column when the pooled shortcut is larger
        if (sh !== yh || sw !== yw)
          y = tf.pad(y, [
            [0, 0],
            [0, sh! - yh!],
            [0, sw! - yw!],
            [0, 0],
          ]);
        if (sc !== yc)
          short = tf.pad(short, [
            [0, 0],
            [0, 0],
            [0, 0],
            [0, yc! - sc!],
          ]);
      }
      x = tf.relu(tf.add(short, y));
    }
    return tf.matMul(tf.mean(x, [1, 2]) as never, p.fc);
  });
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}
