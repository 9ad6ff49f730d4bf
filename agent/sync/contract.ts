/**
 * The MQTT contract, version 1 (docs/mqtt-contract.md is the prose; docs/schemas/v1/ the JSON
 * Schemas). Every topic lives under `<prefix>/<box>/` so a broker ACL `pattern readwrite
 * <prefix>/%u/#` (box id = certificate CN = username) confines each box to its own subtree.
 */
import type { InspectionStateName } from '../core/events.js';

export const CONTRACT_VERSION = 1 as const;
export { CONTRACT_MINOR } from './records.js';

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
  | { v: 1; id: string; cmd: 'ping' }
  | { v: 1; id: string; cmd: 'reload'; what: 'roster' | 'schedule' }
  /** v1.1: push `camera` to inspection.pushUrl/<key> (the box composes the URL, never the command) */
  | { v: 1; id: string; cmd: 'live'; camera: string; key: string; seconds?: number }
  | { v: 1; id: string; cmd: 'live-stop'; inspection: string }
  /** v1.1: upload this range as a clip with its manifest to inspection.uploadUrl; token authorises the upload */
  | { v: 1; id: string; cmd: 'clip'; camera: string; from: number; to: number; token: string };

export interface ReplyMsg {
  v: 1;
  box: string;
  id: string;
  cmd?: string;
  ok: boolean;
  message?: string;
  backlog?: number;
  /** v1.1, replies to `live` */
  state?: InspectionStateName;
  at: number;
}

export interface StatusMsg {
  v: 1;
  box: string;
  state: StatusState;
  session: number;
  /** when published; in the last will, when the connection began (readers use receipt time) */
  at: number;
  /** v1.1: when this connection began */
  connectedAt?: number;
  backlog?: number;
  agent?: string;
  /** v1.1: contract minor version ("1.1"); absent from 1.0 boxes */
  contract?: string;
  agentVersion?: string;
}

/** v1.1: a provincial receiving host's liveness (Sparkplug's primary-host STATE), retained. */
export interface CentralStateMsg {
  v: 1;
  host: string;
  online: boolean;
  at: number;
  contract?: string;
}

/**
 * Where receiving hosts announce themselves: `<prefix>/_central/<host>/state`. Box ids never
 * start with `_` on the wire (parseTopic refuses them), so no box can pose as the province.
 */
export function centralStateTopic(prefix: string, host: string): string {
  return `${trimSlash(prefix)}/_central/${host}/state`;
}

/** Every host's state, for a box to learn whether the province is there. */
export function allCentralStates(prefix: string): string {
  return `${trimSlash(prefix)}/_central/+/state`;
}

/** The host of a central state topic, or undefined. */
export function parseCentralStateTopic(prefix: string, topic: string): string | undefined {
  const m = topic.slice(trimSlash(prefix).length).match(/^\/_central\/([A-Za-z0-9._-]{1,64})\/state$/);
  return topic.startsWith(trimSlash(prefix)) && m ? m[1] : undefined;
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
  if (!/^[A-Za-z0-9.-][A-Za-z0-9._-]{0,63}$/.test(box)) return undefined; // `_…` is the province's
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
