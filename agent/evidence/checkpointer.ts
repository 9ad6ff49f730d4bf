import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { AgentContext } from '../core/context.js';
import { logger } from '../core/log.js';
import type { Module } from '../core/module.js';
import { evidenceLog, type EvidenceLog } from '../store/evidence-log.js';
import { Outbox } from '../store/outbox.js';
import type { Store } from '../store/store.js';
import { keyFolderOf, loadOrCreateLogKey, originOf, writeLocalCheckpoint, type LogKey } from './keys.js';
import { formatCheckpoint, parseSignerKey, signNote, type NoteSigner } from './note.js';
import type { CheckpointRecord } from './verifier.js';

const KEY_REF = JSON.stringify(['log-key']);

/** The statement a key announcement signs (with the new key, and the old one when it is still there). */
export const keyStatement = (origin: string, vkey: string, previous: string | null) => `classroom-agent log key\n${origin}\n${vkey}\n${previous ? `previous ${previous}\n` : ''}`;

/**
 * Sign a checkpoint of the log as it is now (when it grew, or `force`): stored in the database,
 * sent to the province as a `checkpoint` record with the consistency proof from the previous
 * one, and kept beside the key. Returns the new size, or undefined when nothing was signed.
 */
export function signCheckpoint(store: Store, key: LogKey, origin: string, force = false): number | undefined {
  const log = evidenceLog(store);
  const now = store.now();
  const note = store.tx(() => {
    const size = log.size();
    const last = log.lastCheckpoint();
    if (last && last.size === size && !force) return undefined;
    const root = log.root(size);
    const note = signNote(formatCheckpoint({ origin, size, root, extensions: [`time ${now}`] }), key.signer);
    const rec: CheckpointRecord = {
      note,
      prev: last ? { size: last.size, root: last.root.toString('base64') } : null,
      proof: last ? log.consistency(last.size, size).map((h) => h.toString('base64')) : [],
    };
    log.saveCheckpoint(size, root, note, now);
    new Outbox(store).enqueue('checkpoint', now, rec);
    return note;
  });
  if (!note) return undefined;
  writeLocalCheckpoint(key.folder, note);
  return log.size();
}

/**
 * Announce the key when the log has not logged it yet (first start) or it changed: a `log-key`
 * entry in the log and a `log-key` record to the province, signed by the new key and, when
 * `log.key.previous` is still in the key folder, by the previous one (a change the province can
 * trust); a change the old key did not sign is announced all the same and flagged there.
 */
export function announceKey(store: Store, key: LogKey, origin: string): boolean {
  const log: EvidenceLog = evidenceLog(store);
  const last = log.latestOf(KEY_REF);
  const previous = last?.entry ? ((JSON.parse(last.entry.toString()) as { d: { key: string } }).d.key ?? null) : null;
  if (previous === key.signer.vkey) return false;
  let oldSigner: NoteSigner | undefined;
  try {
    oldSigner = parseSignerKey(fs.readFileSync(path.join(key.folder, 'log.key.previous'), 'utf8'));
    if (oldSigner.vkey !== previous) oldSigner = undefined;
  } catch {
    oldSigner = undefined;
  }
  const note = signNote(keyStatement(origin, key.signer.vkey, previous), key.signer, ...(oldSigner ? [oldSigner] : []));
  store.tx(() => {
    log.appendEvidence('log-key', { key: key.signer.vkey, previous }, { ref: KEY_REF, corrects: last?.seq });
    new Outbox(store).enqueue('log-key', store.now(), { origin, key: key.signer.vkey, previous, note });
  });
  return true;
}

/**
 * Keeps the log signed: makes the key on first start, announces it, signs a checkpoint every
 * `evidence.checkpointMinutes` when the log grew and at each verdict, and a last one at stop.
 */
export class Checkpointer implements Module {
  readonly name = 'evidence-log';
  private log: Logger = logger('evidence');
  private timer: NodeJS.Timeout | undefined;
  private key!: LogKey;
  private origin!: string;

  constructor(private ctx: AgentContext) {}

  async start(): Promise<void> {
    this.origin = originOf(this.ctx.cfg);
    this.key = loadOrCreateLogKey(keyFolderOf(this.ctx.cfg), this.origin);
    if (this.key.created) this.log.info({ folder: this.key.folder }, 'log key created');
    if (announceKey(this.ctx.store, this.key, this.origin)) this.log.info({ key: this.key.signer.vkey }, 'log key announced');
    this.ctx.bus.on(this, 'verdict.computed', () => this.sign('verdict'));
    this.timer = setInterval(() => this.sign('timer'), (this.ctx.cfg.evidence?.checkpointMinutes ?? 5) * 60_000);
    this.timer.unref();
    this.sign('start');
  }

  async stop(): Promise<void> {
    this.ctx.bus.removeListeners(this);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sign('stop');
  }

  /** Public for tests and the CLI. */
  sign(reason: string): number | undefined {
    try {
      const size = signCheckpoint(this.ctx.store, this.key, this.origin);
      if (size !== undefined) this.log.debug({ size, reason }, 'checkpoint signed');
      return size;
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'checkpoint failed');
      return undefined;
    }
  }
}
