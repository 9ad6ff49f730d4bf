import { createHash, hash } from 'node:crypto';

/**
 * RFC 9162 §2.1 Merkle tree hashing (unchanged from RFC 6962): leaf = SHA-256(0x00 || entry),
 * node = SHA-256(0x01 || left || right); the prefixes keep a leaf from passing as a node.
 *
 * why hand-written: the algorithms are ~100 lines, spelled out in the RFC, and there is no
 * well-kept npm package for them; they are tested against transparency-dev/merkle's published
 * vectors (merkle.test.ts). Pure functions: no I/O, usable by the box, a bundle reader and the
 * provincial side alike.
 */

export const HASH_SIZE = 32;
const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export function hashLeaf(entry: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF).update(entry).digest();
}

export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  // one buffer and a one-shot hash: a Hash object per node cost a third more (every append folds one)
  const b = Buffer.allocUnsafe(1 + left.length + right.length);
  b[0] = NODE[0];
  b.set(left, 1);
  b.set(right, 1 + left.length);
  return hash('sha256', b, 'buffer');
}

export const EMPTY_ROOT = createHash('sha256').digest();

/** Largest power of two strictly smaller than n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// Math.log2 is exact on powers of two; & would truncate sizes past 2^31
const isPow2 = (n: number) => n > 0 && Number.isInteger(Math.log2(n));

/**
 * Where the hashes of complete subtrees come from: level 0 is the leaf hashes, the node at
 * (level, index) covers leaves [index·2^level, (index+1)·2^level). Only complete subtrees are
 * asked for; the store keeps them in SQLite, tests compute them from a leaf array.
 */
export interface NodeSource {
  node(level: number, index: number): Buffer;
}

/** MTH of the leaves [start, start+size): complete aligned subtrees come from the source. */
export function rangeHash(src: NodeSource, start: number, size: number): Buffer {
  if (size === 0) return EMPTY_ROOT;
  if (isPow2(size) && start % size === 0) return src.node(Math.log2(size), start / size);
  const k = splitPoint(size);
  return hashChildren(rangeHash(src, start, k), rangeHash(src, start + k, size - k));
}

export const rootOf = (src: NodeSource, size: number): Buffer => rangeHash(src, 0, size);

/** RFC 9162 §2.1.3.1 PATH(m, D[n]) for the leaves [start, start+n). */
function path(src: NodeSource, m: number, start: number, n: number): Buffer[] {
  if (n <= 1) return [];
  const k = splitPoint(n);
  return m < k ? [...path(src, m, start, k), rangeHash(src, start + k, n - k)] : [...path(src, m - k, start + k, n - k), rangeHash(src, start, k)];
}

export function inclusionProof(src: NodeSource, index: number, size: number): Buffer[] {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  return path(src, index, 0, size);
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b). */
function subproof(src: NodeSource, m: number, start: number, n: number, b: boolean): Buffer[] {
  if (m === n) return b ? [] : [rangeHash(src, start, n)];
  const k = splitPoint(n);
  return m <= k ? [...subproof(src, m, start, k, b), rangeHash(src, start + k, n - k)] : [...subproof(src, m - k, start + k, n - k, false), rangeHash(src, start, k)];
}

export function consistencyProof(src: NodeSource, first: number, second: number): Buffer[] {
  if (!(first >= 0 && first <= second)) throw new RangeError(`no consistency proof from ${first} to ${second}`);
  if (first === 0 || first === second) return [];
  return subproof(src, first, 0, second, true);
}

const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/** RFC 9162 §2.1.3.2: true when `proof` shows `leafHash` at `index` in the tree of `size` with `root`. */
export function verifyInclusion(index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (leafHash.length !== HASH_SIZE || root.length !== HASH_SIZE || proof.some((p) => p.length !== HASH_SIZE)) return false;
  // why BigInt-free: sizes stay far below 2^53; shifts use Math.floor division, not >> (32-bit)
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && eq(r, root);
}

/** RFC 9162 §2.1.4.2: true when `proof` shows the tree (first, firstRoot) is a prefix of (second, secondRoot). */
export function verifyConsistency(first: number, second: number, proof: readonly Uint8Array[], firstRoot: Uint8Array, secondRoot: Uint8Array): boolean {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || second < first) return false;
  if (proof.some((p) => p.length !== HASH_SIZE)) return false;
  if (first === 0) return proof.length === 0;
  if (first === second) return proof.length === 0 && eq(firstRoot, secondRoot);
  if (!proof.length || firstRoot.length !== HASH_SIZE || secondRoot.length !== HASH_SIZE) return false;
  const path = isPow2(first) ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(path[0]);
  let sr: Buffer = Buffer.from(path[0]);
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && eq(fr, firstRoot) && eq(sr, secondRoot);
}

/** An in-memory node source over leaf hashes (tests, bundles, small trees). */
export function memoryTree(leafHashes: readonly Buffer[]): NodeSource {
  const cache = new Map<string, Buffer>();
  const node = (level: number, index: number): Buffer => {
    if (level === 0) {
      const h = leafHashes[index];
      if (!h) throw new RangeError(`no leaf ${index}`);
      return h;
    }
    const key = `${level}/${index}`;
    let h = cache.get(key);
    if (!h) cache.set(key, (h = hashChildren(node(level - 1, index * 2), node(level - 1, index * 2 + 1))));
    return h;
  };
  return { node };
}
