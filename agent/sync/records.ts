import type { LessonResult, Verdict } from '../compliance/evidence.js';

/**
 * The record types of contract v1.1 (docs/mqtt-contract.md). Each has a schema
 * docs/schemas/v1/data/<type>.schema.json; `Outbox.enqueue` takes only these, so a new type
 * cannot be sent without a schema (records.test.ts checks the files).
 */
export const RECORD_TYPES = ['class', 'segment', 'recording-gap', 'alarm', 'checkin', 'lesson-verdict', 'class-verdict', 'chain-head', 'inspection', 'part'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** The contract's minor version, carried in every status (the major stays in `v`). */
export const CONTRACT_MINOR = '1.1';

/**
 * Largest MQTT message a box publishes. EMQX's default `max_packet_size` is 1 MB and Mosquitto
 * PUBACKs then silently drops what exceeds its `message_size_limit`: a quarter of the smallest
 * common limit leaves room for the envelope and for brokers configured tighter.
 */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** Largest record data (JSON bytes) sent whole; larger data travels as consecutive `part` records. */
export const MAX_RECORD_BYTES = 128 * 1024;

export interface PartData {
  /** record id of the whole record */
  of: string;
  /** type of the whole record */
  type: RecordType;
  index: number;
  count: number;
  /** a slice of the whole record's JSON text; the slices concatenated are that text */
  text: string;
}

/**
 * Split a record's JSON text into slices of at most `maxBytes` UTF-8 bytes each once quoted
 * (a UTF-16 unit is at most 3 bytes in UTF-8, and JSON escapes a quote or backslash in 2), never
 * between the two halves of a surrogate pair.
 */
export function splitText(text: string, maxBytes = MAX_RECORD_BYTES): string[] {
  const per = Math.max(2, Math.floor((maxBytes - 2) / 3));
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    let end = Math.min(text.length, i + per);
    const c = text.charCodeAt(end - 1);
    if (end < text.length && c >= 0xd800 && c <= 0xdbff) end--;
    out.push(text.slice(i, end));
    i = end;
  }
  return out;
}

/** Lesson times on the wire are integer UTC ms like every other time (v1 sent ISO strings). */
function wireLesson(l: LessonResult): Omit<LessonResult, 'start' | 'end'> & { start: number; end: number } {
  return { ...l, start: Date.parse(l.start), end: Date.parse(l.end) };
}

/** The `class-verdict` record's data: the verdict with every time as UTC ms. */
export function classVerdictData(v: Verdict): unknown {
  return { ...v, lessons: v.lessons.map(wireLesson) };
}

/** The `lesson-verdict` record's data: one lesson of the verdict and its violations. */
export function lessonVerdictData(v: Verdict, lessonId: string): unknown {
  const lesson = v.lessons.find((l) => l.id === lessonId);
  return { classId: v.classId, lesson: lesson ? wireLesson(lesson) : undefined, violations: v.violations.filter((f) => f.lesson === lessonId) };
}
