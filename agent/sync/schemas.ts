import fs from 'node:fs';
import path from 'node:path';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import { PACKAGE_ROOT } from '../core/paths.js';
import type { InputIssue } from '../core/errors.js';

/**
 * The v1 JSON Schemas (docs/schemas/v1/) compiled with ajv. Both sides use the same files:
 * the agent checks what it receives (acks, commands) and the central receiver checks every
 * batch. The files are the contract; this module only loads them.
 */
export const SCHEMAS_DIR = path.join(PACKAGE_ROOT, 'docs', 'schemas', 'v1');

// why: ajv is CommonJS; under NodeNext its default export arrives as the module namespace
const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as typeof AjvModule.default;

export interface Validators {
  batch: ValidateFunction;
  ack: ValidateFunction;
  command: ValidateFunction;
  reply: ValidateFunction;
  status: ValidateFunction;
  /** v1.1: a receiving host's retained state */
  centralState: ValidateFunction;
  record: ValidateFunction;
  /** data schemas of the known record types; other types only pass the envelope */
  data: Map<string, ValidateFunction>;
}

let cached: Validators | undefined;

export function validators(): Validators {
  if (cached) return cached;
  const ajv = new Ajv({ allErrors: true, strict: false });
  const read = (f: string) => JSON.parse(fs.readFileSync(path.join(SCHEMAS_DIR, f), 'utf8')) as object;
  for (const f of ['common.schema.json', 'record.schema.json']) ajv.addSchema(read(f));
  const data = new Map<string, ValidateFunction>();
  for (const f of fs.readdirSync(path.join(SCHEMAS_DIR, 'data'))) {
    if (!f.endsWith('.schema.json')) continue;
    data.set(f.replace(/\.schema\.json$/, ''), ajv.compile(read(path.join('data', f))));
  }
  cached = {
    batch: ajv.compile(read('batch.schema.json')),
    ack: ajv.compile(read('ack.schema.json')),
    command: ajv.compile(read('command.schema.json')),
    reply: ajv.compile(read('reply.schema.json')),
    status: ajv.compile(read('status.schema.json')),
    centralState: ajv.compile(read('central-state.schema.json')),
    record: ajv.getSchema('https://classroom-agent.example/schemas/v1/record.schema.json')!,
    data,
  };
  return cached;
}

export function issuesOf(errors: ErrorObject[] | null | undefined, base = ''): InputIssue[] {
  return (errors ?? []).map((e) => ({
    path: `${base}${e.instancePath
      .replace(/^\//, '')
      .replace(/\/(\d+)(?=\/|$)/g, '[$1]')
      .replace(/\//g, '.')}`,
    message: e.message ?? 'invalid',
  }));
}

/** Parse and validate one message; returns the value or the issues (never throws). */
export function parseMessage<T>(validate: ValidateFunction, payload: Buffer | string): { ok: true; value: T } | { ok: false; issues: InputIssue[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString());
  } catch (err) {
    return { ok: false, issues: [{ path: '', message: `not JSON: ${(err as Error).message}` }] };
  }
  if (!validate(doc)) return { ok: false, issues: issuesOf(validate.errors) };
  return { ok: true, value: doc as T };
}

/** Check a record's data against its type's schema, when the type is known. */
export function checkRecordData(type: string, data: unknown): InputIssue[] {
  const v = validators().data.get(type);
  if (!v || v(data)) return [];
  return issuesOf(v.errors, 'data.');
}
