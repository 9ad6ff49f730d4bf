import { createHash } from 'node:crypto';
import { isoOffsetMinutes, parseIsoStrict } from '../../core/time.js';
import { decodeText } from '../text.js';
import type { CheckIn, Parsed, Reject } from '../types.js';

const ID = /^[A-Za-z0-9._:@-]{1,64}$/;
/** parseIsoStrict has already required the offset */
const offsetMin = (iso: string): number => isoOffsetMinutes(iso)!;

/**
 * Webhook body: one check-in object, an array, or {"checkins": [...]}. Each item:
 *   { "id"?: client's id, "terminal": "gate-1", "person": "1001" (or "trainee"), "at": ISO 8601 with zone,
 *     "verifyMode"?: "face", "similarity"?: 0..100 }
 * Dedupe: client id (scoped by the X-Client-Id header) or a hash of terminal+person+at.
 * Throws on a body that is not JSON or has no items; bad items are rejected one by one.
 */
export function parseWebhook(body: Buffer, client: string): Parsed {
  let doc: unknown;
  try {
    // RFC 8259 §8.1: a parser may ignore a leading BOM (decodeText drops it)
    doc = JSON.parse(decodeText(body, undefined, { gbk: false }));
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message.slice(0, 120)}`);
  }
  const items: unknown[] = Array.isArray(doc) ? doc : doc && typeof doc === 'object' && Array.isArray((doc as { checkins?: unknown }).checkins) ? (doc as { checkins: unknown[] }).checkins : [doc];
  if (!items.length) throw new Error('no check-ins in the body');
  const checkins: CheckIn[] = [];
  const rejects: Reject[] = [];
  const wrapped = !!doc && typeof doc === 'object' && !Array.isArray(doc) && Array.isArray((doc as { checkins?: unknown }).checkins);
  const single = !Array.isArray(doc) && !wrapped;
  items.forEach((it, i) => {
    const base = single ? '' : `${wrapped ? 'checkins' : ''}[${i}]`;
    const where = (k: string) => (base && k ? `${base}.${k}` : base || k || '(body)');
    if (!it || typeof it !== 'object' || Array.isArray(it)) return rejects.push({ where: where(''), message: 'expected an object' });
    const o = it as Record<string, unknown>;
    const person = o.person ?? o.trainee;
    const problems: Reject[] = [];
    if (typeof o.terminal !== 'string' || !ID.test(o.terminal)) problems.push({ where: where('terminal'), message: 'required: 1-64 letters, digits or ._:@-' });
    if (typeof person !== 'string' && typeof person !== 'number') problems.push({ where: where('person'), message: 'required: the terminal\'s id of the person (or "trainee")' });
    else if (!ID.test(String(person))) problems.push({ where: where('person'), message: '1-64 letters, digits or ._:@-' });
    const at = parseIsoStrict(o.at);
    if (at === undefined) problems.push({ where: where('at'), message: 'not an ISO 8601 timestamp with zone' });
    if (o.id !== undefined && ((typeof o.id !== 'string' && typeof o.id !== 'number') || !ID.test(String(o.id)))) problems.push({ where: where('id'), message: '1-64 letters, digits or ._:@-' });
    if (o.similarity !== undefined && (typeof o.similarity !== 'number' || !(o.similarity >= 0 && o.similarity <= 100))) problems.push({ where: where('similarity'), message: 'a number 0..100' });
    if (o.verifyMode !== undefined && (typeof o.verifyMode !== 'string' || o.verifyMode.length > 32)) problems.push({ where: where('verifyMode'), message: 'a string up to 32 characters' });
    if (problems.length) return rejects.push(...problems);
    const key =
      o.id !== undefined
        ? `wh:${client}:${String(o.id)}`
        : `wh:h:${createHash('sha256')
            .update(JSON.stringify([o.terminal, String(person), at]))
            .digest('hex')
            .slice(0, 32)}`;
    checkins.push({
      protocol: 'webhook',
      terminal: o.terminal as string,
      person: String(person),
      at: at!,
      tzOffsetMin: offsetMin(o.at as string),
      verifyMode: (o.verifyMode as string | undefined) ?? null,
      similarity: (o.similarity as number | undefined) ?? null,
      dedupKey: key,
      name: typeof o.name === 'string' && o.name.trim() ? o.name.trim().slice(0, 64) : null,
    });
  });
  return { checkins, rejects };
}
