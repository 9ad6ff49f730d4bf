import type { TerminalConfig } from '../config/schema.js';
import type { CheckinRepo, RawRow } from '../store/checkins.js';
import { parseDahuaPart, parseRecordFinder } from './dahua/event.js';
import { parseAcsSearch, parseHikEvent } from './hikvision/event.js';
import { readHikPush } from './hikvision/route.js';
import type { Parsed } from './types.js';
import { parseWebhook } from './webhook/parse.js';
import { parseAttlog } from './zkteco/attlog.js';

export interface ReparseResult {
  raw: number;
  status: string;
  added: number;
  voided: number;
  events: number;
  error?: string;
}

/**
 * Read a stored raw input again with today's parsers and terminal settings, exactly as the
 * intake would have (same protocol, channel, terminal zone, client id), and apply the result as
 * corrections (store: applyReparse): missing check-ins are added, wrongly counted ones voided,
 * nothing edited. For after a parser fix, a time-zone fix, or a vendor code added to codes.ts.
 */
export async function reparseRaw(row: RawRow & { body: Buffer }, terminals: TerminalConfig[], repo: CheckinRepo): Promise<ReparseResult> {
  let parsed: Parsed | Error;
  try {
    parsed = await parseAgain(row, terminals, repo);
  } catch (err) {
    parsed = err instanceof Error ? err : new Error(String(err));
  }
  const r = repo.applyReparse(row.id, parsed);
  return { raw: row.id, ...r, ...(parsed instanceof Error ? { error: parsed.message.slice(0, 200) } : {}) };
}

async function parseAgain(row: RawRow & { body: Buffer }, terminals: TerminalConfig[], repo: CheckinRepo): Promise<Parsed> {
  if (row.truncated) throw new Error('the body was cut at the size limit when received: the rest is not stored');
  const q = new URL(row.path ?? '/', 'http://box').searchParams;
  const term = terminals.find((t) => t.id === row.terminal);
  const approved = row.protocol === 'zkteco' && !term ? repo.serials().find((s) => s.terminal_id === row.terminal) : undefined;
  const tz = term?.timezone ?? approved?.timezone ?? 'Asia/Shanghai';
  const id = row.terminal ?? '';
  switch (row.protocol) {
    case 'zkteco': {
      if ((q.get('table') ?? '').toUpperCase() !== 'ATTLOG') return { checkins: [], rejects: [], ignored: true };
      const sn = q.get('SN') ?? q.get('sn') ?? term?.serial ?? id;
      return parseAttlog(row.body, id, sn, tz, q.get('Stamp') ?? q.get('stamp') ?? undefined);
    }
    case 'hikvision':
      if (row.channel === 'search') return parseAcsSearch(row.body, id, tz);
      if (row.channel === 'stream') return parseHikEvent(row.body, id, tz, row.content_type ?? undefined);
      return (await readHikPush(row.body, row.content_type ?? undefined, id, tz)).parsed;
    case 'dahua':
      if (row.channel === 'search') return parseRecordFinder(row.body, id, tz, row.received_ms);
      return parseDahuaPart(row.body, id, tz, row.received_ms);
    case 'webhook':
      return parseWebhook(row.body, q.get('client') ?? 'default');
    default:
      throw new Error(`no parser for protocol ${row.protocol}`);
  }
}
