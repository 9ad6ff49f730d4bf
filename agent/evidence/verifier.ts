import { hashLeaf, verifyConsistency, verifyInclusion } from './merkle.js';
import { checkpointTime, openNote, parseCheckpoint, parseVerifierKey, type Checkpoint, type NoteVerifier } from './note.js';

/**
 * The verifier as a library: pure functions over a box's public key, its signed checkpoints
 * and proofs. The box's `verify`, a bundle reader and the provincial witness (agent/central/)
 * all use these; none needs the box's database.
 */

// why a cache: importing the public key costs about as much as the signature check itself, and
// the witness and `verify --central` open every checkpoint of a box with the same key
const parsedKeys = new Map<string, NoteVerifier>();
function verifierOf(vkey: string): NoteVerifier {
  let v = parsedKeys.get(vkey);
  if (!v) {
    v = parseVerifierKey(vkey);
    if (parsedKeys.size >= 4096) parsedKeys.delete(parsedKeys.keys().next().value!);
    parsedKeys.set(vkey, v);
  }
  return v;
}

/** Open a signed checkpoint with the box's verifier key; throws when unsigned, forged or malformed. */
export function openCheckpoint(note: string, vkey: string, origin?: string): Checkpoint & { time?: number } {
  const v = verifierOf(vkey);
  const n = openNote(note, [v]);
  if (!n.verified.includes(v.name)) throw new Error('checkpoint is not signed by the box key');
  const c = parseCheckpoint(n.text);
  if (origin !== undefined && c.origin !== origin) throw new Error(`checkpoint of log ${c.origin}, expected ${origin}`);
  return { ...c, time: checkpointTime(c) };
}

/** Is `newer` an append-only extension of `older` (RFC 9162 consistency)? */
export function consistent(older: { size: number; root: Buffer }, newer: { size: number; root: Buffer }, proof: readonly Buffer[]): boolean {
  return verifyConsistency(older.size, newer.size, proof, older.root, newer.root);
}

/** Is this entry (its canonical bytes) leaf `index` of the checkpointed tree? */
export function included(entry: Uint8Array, index: number, cp: { size: number; root: Buffer }, proof: readonly Buffer[]): boolean {
  return verifyInclusion(index, cp.size, hashLeaf(entry), proof, cp.root);
}

/** What the box sends with each checkpoint (the `checkpoint` record, docs/schemas/v1/data/checkpoint.schema.json). */
export interface CheckpointRecord {
  note: string;
  /** the box's previous checkpoint (null for its first) */
  prev: { size: number; root: string } | null;
  /** consistency proof from prev to this checkpoint, base64 hashes */
  proof: string[];
}

export type WitnessAlarm = 'bad-signature' | 'fork' | 'rollback' | 'gap';

export interface WitnessHeld {
  size: number;
  root: Buffer;
  time?: number;
}

/**
 * One witness step: the checkpoint record `rec` against the last checkpoint the witness holds
 * for the box (received in the box's own order). A box restored from an older copy, or showing
 * another history, cannot produce a signed checkpoint that passes this against what the
 * province already holds.
 */
export function witnessStep(
  last: WitnessHeld | undefined,
  rec: CheckpointRecord,
  vkey: string,
  origin?: string,
): { ok: true; cp: WitnessHeld } | { ok: false; alarm: WitnessAlarm; detail: string; cp?: WitnessHeld } {
  let c: Checkpoint & { time?: number };
  try {
    c = openCheckpoint(rec.note, vkey, origin);
  } catch (err) {
    return { ok: false, alarm: 'bad-signature', detail: (err as Error).message };
  }
  const cp = { size: c.size, root: c.root, time: c.time };
  if (!last) return { ok: true, cp };
  if (c.size < last.size) return { ok: false, alarm: 'rollback', detail: `log size ${c.size} after ${last.size} was signed`, cp };
  if (c.size === last.size && !c.root.equals(last.root)) return { ok: false, alarm: 'fork', detail: `two roots signed for size ${c.size}`, cp };
  if (last.time !== undefined && c.time !== undefined && c.time < last.time) return { ok: false, alarm: 'rollback', detail: `checkpoint time ${c.time} before ${last.time}`, cp };
  const prev = rec.prev ? { size: rec.prev.size, root: Buffer.from(rec.prev.root, 'base64') } : { size: 0, root: Buffer.alloc(0) };
  if (prev.size !== last.size || (prev.size > 0 && !prev.root.equals(last.root))) {
    // the box says its previous checkpoint was another one than the last the province holds
    if (prev.size < last.size || (prev.size === last.size && !prev.root.equals(last.root)))
      return { ok: false, alarm: 'fork', detail: `continues from size ${prev.size}, not from the last held (${last.size})`, cp };
    return { ok: false, alarm: 'gap', detail: `continues from size ${prev.size}; checkpoints after ${last.size} never arrived`, cp };
  }
  if (
    !consistent(
      last,
      cp,
      rec.proof.map((p) => Buffer.from(p, 'base64')),
    )
  )
    return { ok: false, alarm: 'fork', detail: `size ${c.size} is not an append-only extension of ${last.size}`, cp };
  return { ok: true, cp };
}
