/**
 * The MQTT contract, version 1 (docs/mqtt-contract.md is the prose; docs/schemas/v1/ the JSON
 * Schemas). Every topic lives under `<prefix>/<box>/` so a broker ACL `pattern readwrite
 * <prefix>/%u/#` (box id = certificate CN = username) confines each box to its own subtree.
 */
export const CONTRACT_VERSION = 1 as const;

export type StatusState = 'online' | 'offline' | 'stopped';

export interface WireRecord {
  /** record id (outbox.record_id): with the box id, the dedup key forever */
  id: string;
  seq: number;
  type: string;
  /** UTC ms of the recorded thing */
  at: number;
  data: unknown;
}

export interface BatchMsg {
  v: 1;
  box: string;
  batch: string;
  session: number;
  sentAt: number;
  /** lowest seq the box still holds (rows below were pruned by retention after being acked) */
  floor: number;
  records: WireRecord[];
}

export interface AckMsg {
  v: 1;
  box: string;
  batch?: string;
  /** inclusive [from, to] ranges of committed sequences */
  ranges: Array<[number, number]>;
  at: number;
}

export type CommandMsg =
  | { v: 1; id: string; cmd: 'resend'; from: number }
  | { v: 1; id: string; cmd: 'ping' };

export interface ReplyMsg {
  v: 1;
  box: string;
  id: string;
  cmd?: string;
  ok: boolean;
  message?: string;
  backlog?: number;
  at: number;
}

export interface StatusMsg {
  v: 1;
  box: string;
  state: StatusState;
  session: number;
  at: number;
  backlog?: number;
  agent?: string;
}

export type TopicKind = 'status' | 'events' | 'ack' | 'cmd' | 'reply';

/** Topics of one box. */
export function topics(prefix: string, box: string): Record<TopicKind, string> {
  const base = `${trimSlash(prefix)}/${box}`;
  return { status: `${base}/status`, events: `${base}/events`, ack: `${base}/ack`, cmd: `${base}/cmd`, reply: `${base}/reply` };
}

/** Wildcard filter over all boxes for one kind (central side). */
export function allBoxes(prefix: string, kind: TopicKind): string {
  return `${trimSlash(prefix)}/+/${kind}`;
}

/** Parse `<prefix>/<box>/<kind>` back into its parts; undefined for anything else. */
export function parseTopic(prefix: string, topic: string): { box: string; kind: TopicKind } | undefined {
  const p = `${trimSlash(prefix)}/`;
  if (!topic.startsWith(p)) return undefined;
  const rest = topic.slice(p.length).split('/');
  if (rest.length !== 2) return undefined;
  const [box, kind] = rest as [string, string];
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(box)) return undefined;
  if (!['status', 'events', 'ack', 'cmd', 'reply'].includes(kind)) return undefined;
  return { box, kind: kind as TopicKind };
}

function trimSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

/** Compress sequences into inclusive ranges (shared with the outbox repository). */
export { toRanges } from '../store/outbox.js';

export function fromRanges(ranges: ReadonlyArray<readonly [number, number]>, max = 1_000_000): number[] {
  const out: number[] = [];
  for (const [a, b] of ranges) {
    for (let n = a; n <= b && out.length < max; n++) out.push(n);
  }
  return out;
}
