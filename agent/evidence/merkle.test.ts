import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT, consistencyProof, hashLeaf, inclusionProof, memoryTree, rootOf, verifyConsistency, verifyInclusion } from './merkle.js';

// Test vectors published by transparency-dev/merkle (proof/verify_test.go, from the RFC 6962
// reference implementation's tests): eight leaves, the roots of the trees of size 1..8, and
// known inclusion and consistency proofs. Copied here so the test needs no download.
const h = (s: string) => Buffer.from(s, 'hex');
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(h);
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(h);
// leaf is 1-based in the published table
const INCLUSION: { leaf: number; size: number; proof: string[] }[] = [
  { leaf: 1, size: 1, proof: [] },
  {
    leaf: 1,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    leaf: 6,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { leaf: 3, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    leaf: 2,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];
const CONSISTENCY: { size1: number; size2: number; proof: string[] }[] = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { size1: 2, size2: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

const tree = memoryTree(LEAVES.map(hashLeaf));
const flip = (b: Buffer) => {
  const c = Buffer.from(b);
  c[0] ^= 8;
  return c;
};

describe('RFC 9162 Merkle tree against transparency-dev vectors', () => {
  it('roots of the trees of size 1..8, and the empty tree', () => {
    for (let n = 1; n <= 8; n++) expect(rootOf(tree, n).toString('hex')).toBe(ROOTS[n - 1].toString('hex'));
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('generates and verifies the published inclusion proofs; rejects every corruption', () => {
    for (const v of INCLUSION) {
      const idx = v.leaf - 1;
      const proof = inclusionProof(tree, idx, v.size);
      expect(proof.map((p) => p.toString('hex'))).toEqual(v.proof);
      const leaf = hashLeaf(LEAVES[idx]);
      const root = ROOTS[v.size - 1];
      expect(verifyInclusion(idx, v.size, leaf, proof, root)).toBe(true);
      // the probes of transparency-dev's corruptInclusionProof
      expect(verifyInclusion(idx - 1, v.size, leaf, proof, root)).toBe(false);
      expect(verifyInclusion(idx + 1, v.size, leaf, proof, root)).toBe(false);
      if ((idx ^ 2) !== idx && v.size > 1) expect(verifyInclusion(idx ^ 2, v.size, leaf, proof, root)).toBe(false);
      expect(verifyInclusion(idx, v.size * 2, leaf, proof, root)).toBe(false);
      if (v.size > 1) expect(verifyInclusion(idx, Math.floor(v.size / 2), leaf, proof, root)).toBe(false);
      expect(verifyInclusion(idx, v.size, Buffer.from('WrongLeaf'), proof, root)).toBe(false);
      expect(verifyInclusion(idx, v.size, leaf, proof, EMPTY_ROOT)).toBe(false);
      expect(verifyInclusion(idx, v.size, leaf, [...proof, root], root)).toBe(false);
      expect(verifyInclusion(idx, v.size, leaf, [root, ...proof], root)).toBe(false);
      expect(verifyInclusion(idx, v.size, leaf, [...proof, Buffer.alloc(0)], root)).toBe(false);
      proof.forEach((_, i) =>
        expect(
          verifyInclusion(
            idx,
            v.size,
            leaf,
            proof.map((p, j) => (j === i ? flip(p) : p)),
            root,
          ),
        ).toBe(false),
      );
      if (proof.length) expect(verifyInclusion(idx, v.size, leaf, proof.slice(0, -1), root)).toBe(false);
    }
  });

  it('generates and verifies the published consistency proofs; rejects every corruption', () => {
    for (const v of CONSISTENCY) {
      const proof = consistencyProof(tree, v.size1, v.size2);
      expect(proof.map((p) => p.toString('hex'))).toEqual(v.proof);
      const r1 = ROOTS[v.size1 - 1];
      const r2 = ROOTS[v.size2 - 1];
      expect(verifyConsistency(v.size1, v.size2, proof, r1, r2)).toBe(true);
      if (!proof.length) continue;
      expect(verifyConsistency(v.size1 - 1, v.size2, proof, r1, r2)).toBe(false);
      expect(verifyConsistency(v.size1 + 1, v.size2, proof, r1, r2)).toBe(false);
      expect(verifyConsistency(v.size1, v.size2 * 2, proof, r1, r2)).toBe(false);
      expect(verifyConsistency(v.size1, Math.floor(v.size2 / 2), proof, r1, r2)).toBe(false);
      expect(verifyConsistency(v.size1, v.size2, proof, r2, r1)).toBe(false);
      expect(verifyConsistency(v.size1, v.size2, [], r1, r2)).toBe(false);
      expect(verifyConsistency(v.size1, v.size2, [...proof, r1], r1, r2)).toBe(false);
      expect(verifyConsistency(v.size1, v.size2, [proof[0], ...proof], r1, r2)).toBe(false);
      expect(verifyConsistency(v.size1, v.size2, proof.slice(0, -1), r1, r2)).toBe(false);
      proof.forEach((_, i) =>
        expect(
          verifyConsistency(
            v.size1,
            v.size2,
            proof.map((p, j) => (j === i ? flip(p) : p)),
            r1,
            r2,
          ),
        ).toBe(false),
      );
    }
    // sizes that are always consistent, and time travel
    expect(verifyConsistency(0, 5, [], EMPTY_ROOT, ROOTS[4])).toBe(true);
    expect(verifyConsistency(2, 1, [], ROOTS[1], ROOTS[0])).toBe(false);
    expect(verifyConsistency(1, 1, [], ROOTS[0], ROOTS[1])).toBe(false);
  });

  it('every proof of every pair in trees up to 40 leaves verifies (generator and verifier agree)', () => {
    const leaves = Array.from({ length: 40 }, (_, i) => hashLeaf(Buffer.from(`entry ${i}`)));
    const t = memoryTree(leaves);
    for (let n = 1; n <= 40; n++) {
      const root = rootOf(t, n);
      for (let i = 0; i < n; i++) expect(verifyInclusion(i, n, leaves[i], inclusionProof(t, i, n), root)).toBe(true);
      for (let m = 0; m <= n; m++) expect(verifyConsistency(m, n, consistencyProof(t, m, n), m ? rootOf(t, m) : EMPTY_ROOT, root)).toBe(true);
    }
  });
});
