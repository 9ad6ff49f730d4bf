import { parseBundle } from '../compliance/bundle.js';
import type { Evidence } from '../compliance/evidence.js';
import { BATCH_KIND, batchOf, refOf, type EvidenceLog } from '../store/evidence-log.js';
import { canonicalJson, parseEntry } from './canonical.js';
import { included, openCheckpoint } from './verifier.js';

/**
 * The attestation an exported bundle carries (docs/evidence-bundle.md): the log entries behind
 * every fact of the bundle, each with its RFC 9162 inclusion proof in one signed checkpoint.
 * Anyone with the box's public key checks a bundle offline: the checkpoint's signature, each
 * entry's inclusion, and that the bundle's evidence is exactly what the entries say.
 */
export interface Attestation {
  format: 'classroom-agent-attestation-1';
  /** the signed checkpoint (C2SP signed note) */
  checkpoint: string;
  /** the box's verifier key as the box stated it; verify with the key you got from the province */
  key: string;
  /**
   * entries; an entry that carries check-ins (a request's raw input, a `checkins` batch) also names
   * the ids of those this bundle attests: the others in it belong to other evidence
   */
  entries: Array<{ seq: number; entry: string; proof: string[]; members?: number[] }>;
}

/** Entries for `refs` (their latest), proven in the checkpoint of `size` signed as `note`. */
export function attest(log: EvidenceLog, refs: readonly string[], cp: { size: number; note: string }, key: string): Attestation {
  const bySeq = new Map<number, Attestation['entries'][number]>();
  const found: Array<{ seq: number; entry: Buffer; member?: number }> = [];
  for (const ref of refs) {
    const f = log.entryForRef(ref);
    const e = f?.row;
    if (!e || !e.entry) throw new Error(`no log entry for ${ref}`);
    if (e.seq >= cp.size) throw new Error(`entry ${e.seq} is not yet in a signed checkpoint`);
    found.push({ seq: e.seq, entry: e.entry, member: f.member?.id });
  }
  // one pass over the tree for all proofs: they share their upper nodes (merkle.ts inclusionProofs)
  const seqs = [...new Set(found.map((f) => f.seq))];
  const proofs = log.inclusions(seqs, cp.size);
  for (const f of found) {
    let a = bySeq.get(f.seq);
    if (!a) bySeq.set(f.seq, (a = { seq: f.seq, entry: f.entry.toString('utf8'), proof: proofs.get(f.seq)!.map((h) => h.toString('base64')) }));
    if (f.member !== undefined) (a.members ??= []).push(f.member);
  }
  const entries = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  for (const a of entries) a.members?.sort((x, y) => x - y);
  return { format: 'classroom-agent-attestation-1', checkpoint: cp.note, key, entries };
}

/** The evidence the entries say, in the engine's form (what ClassRepo.evidence builds from the rows). */
export function evidenceFromEntries(classId: string, entries: ReadonlyArray<{ r?: string; d: unknown }>): Evidence {
  const ev: Evidence = { class: { id: classId, trainees: [], teachers: [] }, lessons: [], recordings: [], sightings: [], checkins: [] };
  const checkins = new Map<number, Evidence['checkins'][number]>();
  const corrections = new Map<number, { id: number; trainee: string | null; voided: boolean }>();
  for (const e of entries) {
    if (!e.r || e.d === null) continue;
    const [table, ...key] = JSON.parse(e.r) as [string, ...string[]];
    const d = e.d as Record<string, any>;
    if (table === 'classes') {
      ev.profile = d.profile;
      if (d.workstations !== null) ev.class.workstations = d.workstations;
      if (d.satisfaction !== null) ev.class.satisfaction = d.satisfaction;
    } else if (table === 'trainees') ev.class.trainees.push(d.has_previous ? { id: key[1], previousProject: { assessedAt: d.previous_assessed_ms } } : { id: key[1] });
    else if (table === 'teachers') ev.class.teachers.push({ id: key[1], certified: !!d.certified });
    else if (table === 'lessons') ev.lessons.push({ id: key[1], kind: d.kind, start: d.start_ms, end: d.end_ms, cameras: JSON.parse(d.cameras), makeUp: !!d.make_up });
    else if (table === 'recordings') ev.recordings.push({ camera: d.camera, start: d.start_ms, end: d.end_ms });
    else if (table === 'sightings') ev.sightings.push({ trainee: d.trainee, camera: d.camera, at: d.at_ms });
    else if (table === 'checkins') checkins.set(Number(key[0]), { trainee: d.trainee, terminal: d.terminal, at: d.at_ms });
    else if (table === 'checkin_corrections') {
      // remap and reparse: the latest correction of a check-in is its current view
      const prev = corrections.get(d.checkin_id);
      if (!prev || prev.id < Number(key[0])) corrections.set(d.checkin_id, { id: Number(key[0]), trainee: d.trainee, voided: !!d.voided });
    }
  }
  for (const [id, c] of checkins) {
    const k = corrections.get(id);
    if (k?.voided) continue;
    ev.checkins.push(k?.trainee ? { ...c, trainee: k.trainee } : c);
  }
  return ev;
}

/** Order-free comparison form: every list sorted by its items' canonical JSON. */
function normal(e: Evidence): string {
  const s = <T>(a: readonly T[]) => a.map((x) => canonicalJson(x)).sort();
  return canonicalJson({
    profile: e.profile ?? null,
    class: { id: e.class.id, trainees: s(e.class.trainees), teachers: s(e.class.teachers), workstations: e.class.workstations ?? null, satisfaction: e.class.satisfaction ?? null },
    lessons: s(e.lessons),
    recordings: s(e.recordings),
    sightings: s(e.sightings),
    checkins: s(e.checkins),
  });
}

export interface BundleReport {
  size: number;
  entries: number;
  problems: string[];
  /** true when the key came from the bundle itself (proves nothing against a forger) */
  selfKeyed: boolean;
}

/** Verify a bundle document offline. `vkey`: the box's key from the province or the box's log.pub. */
export function verifyBundle(doc: unknown, vkey?: string): BundleReport {
  const problems: string[] = [];
  const a = (doc as { attestation?: Attestation })?.attestation;
  if (!a || a.format !== 'classroom-agent-attestation-1' || !Array.isArray(a.entries))
    return { size: 0, entries: 0, problems: ['no attestation: this bundle carries no log entries or checkpoint (exported by an older version, or stripped)'], selfKeyed: false };
  const key = vkey ?? a.key;
  let cp: ReturnType<typeof openCheckpoint>;
  try {
    cp = openCheckpoint(a.checkpoint, key);
  } catch (err) {
    return { size: 0, entries: a.entries.length, problems: [`checkpoint: ${(err as Error).message}`], selfKeyed: !vkey };
  }
  if (vkey && a.key !== vkey) problems.push('the bundle names another key than the one given (the given key was used)');
  const parsed: Array<{ r?: string; d: unknown }> = [];
  for (const e of a.entries) {
    const bytes = Buffer.from(String(e.entry), 'utf8');
    if (
      !included(
        bytes,
        e.seq,
        cp,
        (e.proof ?? []).map((p) => Buffer.from(p, 'base64')),
      )
    ) {
      problems.push(`entry ${e.seq}: not in the signed log (changed, or its proof is wrong)`);
      continue;
    }
    try {
      const entry = parseEntry(bytes);
      if (entry.k !== BATCH_KIND) parsed.push(entry);
      const members = batchOf(entry);
      if (members) {
        // only the check-ins the bundle names speak for it; each must be in the signed entry
        if (entry.k === BATCH_KIND && (!Array.isArray(e.members) || !e.members.length)) problems.push(`entry ${e.seq}: a batch of check-ins that names none of its members`);
        for (const id of Array.isArray(e.members) ? e.members : []) {
          const m = members.get(id);
          if (!m) problems.push(`entry ${e.seq}: check-in ${JSON.stringify(id)} is not in this signed entry`);
          else parsed.push({ r: refOf('checkins', [id]), d: m.d });
        }
      }
    } catch (err) {
      problems.push(`entry ${e.seq}: ${(err as Error).message}`);
    }
  }
  let ev: Evidence;
  try {
    ev = parseBundle(doc);
  } catch (err) {
    problems.push(`evidence: ${(err as Error).message}`);
    return { size: cp.size, entries: a.entries.length, problems, selfKeyed: !vkey };
  }
  const fromLog = evidenceFromEntries(ev.class.id, parsed);
  if (normal(fromLog) !== normal(ev)) {
    const n1 = JSON.parse(normal(ev)) as Record<string, unknown>;
    const n2 = JSON.parse(normal(fromLog)) as Record<string, unknown>;
    const diff = Object.keys(n1).filter((k) => canonicalJson(n1[k]) !== canonicalJson(n2[k]));
    problems.push(`evidence differs from the signed log entries in: ${diff.join(', ')}`);
  }
  return { size: cp.size, entries: a.entries.length, problems, selfKeyed: !vkey };
}
