import type { ReplyMsg } from '../sync/contract.js';
import type { ClipResult } from './clips.js';
import { createSchema, type PgCentralDb } from './pg.js';

/**
 * What the supervisor's web view reads and writes in the central's PostgreSQL (beside the
 * receiver's tables, same pool): supervisor accounts, and the inspection and playback requests
 * with every state the box replied. Everything lives in the database, so any instance of the
 * central service can serve the view: the reply to a request may reach another instance (the
 * reply subscription is shared), and the next page poll may reach a third.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS supervisors (name TEXT PRIMARY KEY, hash TEXT NOT NULL, updated_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS view_sessions (id_sha TEXT PRIMARY KEY, name TEXT NOT NULL, stamp BIGINT NOT NULL, created_ms BIGINT NOT NULL, last_seen_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS view_requests (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, box TEXT NOT NULL, camera TEXT NOT NULL, from_ms BIGINT, to_ms BIGINT,
  play_url TEXT, supervisor TEXT NOT NULL, created_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS view_request_states (n BIGSERIAL PRIMARY KEY, id TEXT NOT NULL, box TEXT NOT NULL, state TEXT NOT NULL, ok BOOLEAN NOT NULL, message TEXT, at_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS view_request_states_id ON view_request_states (id, n);
CREATE TABLE IF NOT EXISTS view_clips (id TEXT PRIMARY KEY, box TEXT NOT NULL, file TEXT NOT NULL, verified BOOLEAN NOT NULL, problems TEXT NOT NULL, received_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS records_type ON records (type, at_ms);
`;
const SCHEMA_LOCK = 0x63612d76;

export interface BoxRow {
  box: string;
  state: string | null;
  statusReceivedMs: number | null;
  agentVersion: string | null;
  contract: string | null;
  backlog: number | null;
  records: number;
  lastBatchMs: number | null;
}

export interface RequestRow {
  id: string;
  kind: 'live' | 'clip';
  box: string;
  camera: string;
  from: number | null;
  to: number | null;
  playUrl: string | null;
  supervisor: string;
  created: number;
  states: Array<{ state: string; ok: boolean; message: string | null; at: number }>;
  clip?: { verified: boolean; problems: string[] };
}

export class ViewDb {
  private ready?: Promise<void>;
  constructor(private db: PgCentralDb) {}

  init(): Promise<void> {
    this.ready ??= (async () => {
      await this.db.init();
      await createSchema(this.db.pool, SCHEMA_LOCK, SCHEMA);
    })();
    return this.ready;
  }

  private async q<T extends object>(sql: string, args: unknown[] = []): Promise<T[]> {
    await this.init();
    return (await this.db.pool.query<T>(sql, args)).rows;
  }

  async setSupervisor(name: string, hash: string, now: number): Promise<void> {
    await this.q('INSERT INTO supervisors (name, hash, updated_ms) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET hash = $2, updated_ms = $3', [name, hash, now]);
  }

  async supervisor(name: string): Promise<{ name: string; hash: string; updated_ms: number } | undefined> {
    return (await this.q<{ name: string; hash: string; updated_ms: number }>('SELECT name, hash, updated_ms FROM supervisors WHERE name = $1', [name]))[0];
  }

  /**
   * Sessions live here, not in one instance's memory (the console's Sessions): the next request
   * may reach another instance. Only the SHA-256 of the cookie is stored, so a read of the
   * database does not give a session away.
   */
  async createSession(idSha: string, name: string, stamp: number, now: number): Promise<void> {
    await this.q('INSERT INTO view_sessions (id_sha, name, stamp, created_ms, last_seen_ms) VALUES ($1, $2, $3, $4, $4)', [idSha, name, stamp, now]);
    await this.q('DELETE FROM view_sessions WHERE last_seen_ms < $1', [now - 24 * 3_600_000]);
  }

  /** The session's supervisor, when the session is within its idle and total limits and the password unchanged since login. */
  async session(idSha: string, now: number, idleMs: number, maxMs: number): Promise<string | undefined> {
    const r = (
      await this.q<{ name: string }>(
        `UPDATE view_sessions s SET last_seen_ms = $2 FROM supervisors u
          WHERE s.id_sha = $1 AND u.name = s.name AND u.updated_ms = s.stamp AND s.last_seen_ms > $2::bigint - $3::bigint AND s.created_ms > $2::bigint - $4::bigint RETURNING s.name`,
        [idSha, now, idleMs, maxMs],
      )
    )[0];
    return r?.name;
  }

  async endSession(idSha: string): Promise<void> {
    await this.q('DELETE FROM view_sessions WHERE id_sha = $1', [idSha]);
  }

  async supervisorCount(): Promise<number> {
    return (await this.q<{ n: number }>('SELECT COUNT(*)::int AS n FROM supervisors'))[0]!.n;
  }

  async boxes(): Promise<BoxRow[]> {
    const rows = await this.q<Record<string, unknown>>(
      `SELECT b.box, b.status_state, b.status_received_ms, b.status_agent_version, b.status_contract, b.status_backlog, b.last_batch_ms,
              (SELECT COUNT(*)::int FROM records r WHERE r.box = b.box) AS records
         FROM boxes b ORDER BY b.box LIMIT 500`,
    );
    return rows.map((r) => ({
      box: r.box as string,
      state: (r.status_state as string) ?? null,
      statusReceivedMs: (r.status_received_ms as number) ?? null,
      agentVersion: (r.status_agent_version as string) ?? null,
      contract: (r.status_contract as string) ?? null,
      backlog: (r.status_backlog as number) ?? null,
      records: r.records as number,
      lastBatchMs: (r.last_batch_ms as number) ?? null,
    }));
  }

  /** The newest records of some types, valid ones only (what a supervisor is shown). */
  async latest(types: readonly string[], limit: number): Promise<Array<{ box: string; type: string; at: number; data: unknown }>> {
    const rows = await this.q<{ box: string; type: string; at_ms: number; data: string }>(
      'SELECT box, type, at_ms, data FROM records WHERE type = ANY($1::text[]) AND valid ORDER BY at_ms DESC LIMIT $2',
      [types, limit],
    );
    return rows.map((r) => ({ box: r.box, type: r.type, at: r.at_ms, data: JSON.parse(r.data) as unknown }));
  }

  /** Each box's cameras that recorded since `since`, with the end of the newest segment (what a playback range can cover). */
  async cameras(since: number): Promise<Array<{ box: string; camera: string; recordedUntil: number }>> {
    return this.q<{ box: string; camera: string; recordedUntil: number }>(
      `SELECT box, (data::jsonb)->>'camera' AS camera, MAX(((data::jsonb)->>'end')::bigint) AS "recordedUntil"
         FROM records WHERE type = 'segment' AND valid AND at_ms >= $1 GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 1000`,
      [since],
    );
  }

  async addRequest(r: Omit<RequestRow, 'states' | 'clip'>): Promise<void> {
    await this.q('INSERT INTO view_requests (id, kind, box, camera, from_ms, to_ms, play_url, supervisor, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
      r.id,
      r.kind,
      r.box,
      r.camera,
      r.from,
      r.to,
      r.playUrl,
      r.supervisor,
      r.created,
    ]);
  }

  /**
   * A box's reply to a live or clip command (any instance may receive it). Kept whether or not
   * the request row is there yet: the command is published before its row commits, and a fast
   * box may answer in between. The page reads states by request id and box.
   */
  async addReply(box: string, reply: ReplyMsg, now: number): Promise<void> {
    if (!reply.state) return;
    await this.q('INSERT INTO view_request_states (id, box, state, ok, message, at_ms) VALUES ($1, $2, $3, $4, $5, $6)', [
      reply.id,
      box,
      reply.state,
      reply.ok,
      reply.message?.slice(0, 1000) ?? null,
      reply.at ?? now,
    ]);
  }

  async addClip(c: ClipResult, now: number): Promise<void> {
    await this.q('INSERT INTO view_clips (id, box, file, verified, problems, received_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING', [
      c.request,
      c.box,
      c.file,
      c.verified,
      JSON.stringify(c.problems),
      now,
    ]);
  }

  /** The verified clip file of a request, or undefined (never an unverified one). */
  async verifiedClip(id: string): Promise<string | undefined> {
    return (await this.q<{ file: string }>('SELECT file FROM view_clips WHERE id = $1 AND verified', [id]))[0]?.file;
  }

  async requests(limit = 50): Promise<RequestRow[]> {
    const reqs = await this.q<Record<string, unknown>>('SELECT * FROM view_requests ORDER BY created_ms DESC LIMIT $1', [limit]);
    if (!reqs.length) return [];
    const ids = reqs.map((r) => r.id as string);
    const states = await this.q<{ id: string; box: string; state: string; ok: boolean; message: string | null; at_ms: number }>(
      'SELECT id, box, state, ok, message, at_ms FROM view_request_states WHERE id = ANY($1::text[]) ORDER BY at_ms, n',
      [ids],
    );
    const clips = await this.q<{ id: string; verified: boolean; problems: string }>('SELECT id, verified, problems FROM view_clips WHERE id = ANY($1::text[])', [ids]);
    return reqs.map((r) => {
      const clip = clips.find((c) => c.id === r.id);
      return {
        id: r.id as string,
        kind: r.kind as 'live' | 'clip',
        box: r.box as string,
        camera: r.camera as string,
        from: (r.from_ms as number) ?? null,
        to: (r.to_ms as number) ?? null,
        playUrl: (r.play_url as string) ?? null,
        supervisor: r.supervisor as string,
        created: r.created_ms as number,
        states: states.filter((s) => s.id === r.id && s.box === r.box).map((s) => ({ state: s.state, ok: s.ok, message: s.message, at: s.at_ms })),
        ...(clip ? { clip: { verified: clip.verified, problems: JSON.parse(clip.problems) as string[] } } : {}),
      };
    });
  }
}
