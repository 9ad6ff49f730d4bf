/**
 * The one shape every terminal protocol is normalised to. Adapters are pure parsers from a raw
 * request/stream part to CheckIns; the intake (ingest.ts) stores the raw input first, then the
 * CheckIns, deduplicated by `dedupKey`, in one transaction with their outbox records.
 */
export type Protocol = 'zkteco' | 'hikvision' | 'dahua' | 'webhook';

export interface CheckIn {
  protocol: Protocol;
  /** configured terminal id (config terminals[].id), or the webhook's terminal field */
  terminal: string;
  /** the terminal's own id of the person: ZKTeco PIN, Hikvision employeeNo, Dahua UserID, webhook person */
  person: string;
  /** UTC ms */
  at: number;
  /** offset of the terminal's clock zone at `at`, minutes east of UTC (null when unknown) */
  tzOffsetMin: number | null;
  /** protocol's own verify mode, kept raw (codes conflict between models) */
  verifyMode: string | null;
  similarity: number | null;
  /**
   * The real event's identity: device identity + person + the time the device stamped (ZKTeco
   * SN+PIN+local time, Hikvision/Dahua terminal+person+second, webhook client id or content
   * hash). Never the device's counter alone: counters restart after a replacement or log reset.
   */
  dedupKey: string;
  /** the device's own event counter (Hikvision serialNo, Dahua RecNo), kept to report counter reuse */
  counter?: string | null;
  /** the name the terminal sent with the event (shown beside an unknown person) */
  name?: string | null;
  /** vendor event code ("5/75", "AccessControl/1", "status 0") */
  code?: string | null;
}

/**
 * An event that is not a check-in but is kept and reported: a failed verification, a known
 * non-pass code, or a code not in the vendor table (codes.ts).
 */
export interface TerminalEvent {
  kind: 'not-a-pass' | 'unknown-code';
  terminal: string;
  code: string;
  meaning: string | null;
  person: string | null;
  name: string | null;
  at: number | null;
}

/** A check-in as stored: with its trainee (null = unknown person) and the raw input it came from. */
export interface StoredCheckIn extends CheckIn {
  id: number;
  trainee: string | null;
  classId: string | null;
  rawId: number | null;
  /** when the box received it (UTC ms; null on rows older than this column) */
  receivedMs?: number | null;
  /** 'future' | 'ancient': a claimed time that cannot be right (kept, flagged, alarmed) */
  timeFlag?: string | null;
  /** id of the correction this view of the row comes from (remap, reparse) */
  correctionId?: number | null;
}

/** One unusable row or item inside an otherwise readable input. */
export interface Reject {
  where: string;
  message: string;
}

/** What an adapter made of one raw input. */
export interface Parsed {
  checkins: CheckIn[];
  rejects: Reject[];
  /** events kept but not counted (failed checks, unknown codes) */
  events?: TerminalEvent[];
  /** nothing to store (heartbeat, other ATTLOG-less table): raw is kept with status 'ignored' */
  ignored?: boolean;
  heartbeat?: boolean;
  /** catch-up cursor to remember for the terminal after commit (ZKTeco Stamp, Hikvision serialNo) */
  cursor?: string;
}

/** Raw input as received, before any parsing. */
export interface RawInput {
  protocol: Protocol;
  terminal: string | null;
  channel: 'http' | 'stream' | 'search';
  method?: string;
  path?: string;
  contentType?: string;
  body: Buffer;
  receivedMs: number;
}

export interface IngestOutcome {
  rawId: number;
  stored: StoredCheckIn[];
  duplicates: number;
  unknown: number;
  rejects: Reject[];
  /** check-ins whose device counter was already used by another event (device replaced, log reset) */
  counterReuse?: number;
  /** events kept but not counted */
  notCounted?: number;
  status: 'ok' | 'partial' | 'unparsable' | 'ignored';
  error?: string;
}
