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
  /** protocol identity: ZKTeco sn+pin+time, Hikvision sn+serialNo, Dahua sn+RecNo, webhook client id or content hash */
  dedupKey: string;
}

/** A check-in as stored: with its trainee (null = unknown person) and the raw input it came from. */
export interface StoredCheckIn extends CheckIn {
  id: number;
  trainee: string | null;
  classId: string | null;
  rawId: number | null;
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
  status: 'ok' | 'partial' | 'unparsable' | 'ignored';
  error?: string;
}
