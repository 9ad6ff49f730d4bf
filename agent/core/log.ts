import pino, { type Logger } from 'pino';
import { noteSecret } from './secret-audit.js';

/**
 * Namespaced JSON logs (pino). One root logger; every module takes a child with its namespace
 * (`ca:recorder`, `ca:checkin:zkteco`), so `jq 'select(.ns=="ca:sync")'` isolates a module.
 *
 * why: the technician reads these logs on a box that also holds ID-card numbers, face
 * descriptors and credentials. Redaction is done here, once, by key name, so a careless
 * `log.info({ cfg })` elsewhere cannot leak them.
 */
export const REDACT_KEYS = [
  'password',
  'passwd',
  'token',
  'secret',
  'hmacSecret',
  'key',
  'privateKey',
  'passphrase',
  'idCard',
  'idNumber',
  'idcard',
  'descriptor',
  'descriptors',
  'face',
  'faceImage',
  'photo',
  'image',
  'authorization',
  'Authorization',
  'cookie',
];

const redactPaths = REDACT_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

let root: Logger | undefined;

// Where logs go when initLogging names no fd. The test setup (vitest.setup.ts) routes them
// through the console, so the runner shows the code's logs only for the tests that fail.
let fallbackDestination: pino.DestinationStream | undefined;

export function setLogDestination(d: pino.DestinationStream | undefined): void {
  fallbackDestination = d;
  root = undefined;
  children.clear();
}

export interface LogOptions {
  level?: string;
  /** file descriptor for output; CLI commands log to stderr (2) so stdout stays machine-readable */
  fd?: number;
}

export function initLogging(opts: LogOptions = {}): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? 'info';
  root = pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.fd === undefined && fallbackDestination ? fallbackDestination : pino.destination({ fd: opts.fd ?? 2, sync: true }),
  );
  children.clear();
  return root;
}

const children = new Map<string, Logger>();

function current(ns: string): Logger {
  if (!root) initLogging();
  let l = children.get(ns);
  if (!l) children.set(ns, (l = root!.child({ ns: `ca:${ns}` })));
  return l;
}

/**
 * A namespaced logger. Modules take theirs at import time, before the CLI or daemon has chosen
 * the level and destination; the proxy resolves to the current root on every call, so
 * initLogging() later still governs every logger.
 */
export function logger(ns: string): Logger {
  return new Proxy({} as Logger, {
    get(_t, prop) {
      const l = current(ns);
      const v = (l as unknown as Record<PropertyKey, unknown>)[prop];
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(l) : v;
    },
  });
}

/**
 * Mask the credentials of every URL in a text (a URL alone, or ffmpeg's and ffprobe's messages,
 * which quote the input URL with its password) before it goes anywhere a human might read it:
 * `rtsp://admin:pw@cam` becomes `rtsp://admin:***@cam`, `?token=abc` becomes `?token=***`.
 * The one URL masker of the agent: every message that quotes a URL passes through it.
 */
export function maskUrl(text: string): string {
  return text
    .replace(/\/\/([^\s:/@]*):([^\s@/]*)@/g, (_m, user: string, pw: string) => {
      noteSecret(pw === '***' ? undefined : pw);
      return `//${user}:***@`;
    })
    .replace(/([?&](?:token|access_token|password|passwd|pass|pwd|secret|key|auth|sig|signature)=)[^&\s#"']+/gi, '$1***');
}

/** Mask a Chinese resident ID number (18 chars): keep region prefix and last 4 (4101********1234). */
export function maskIdNumber(id: string): string {
  return id.length >= 8 ? `${id.slice(0, 4)}${'*'.repeat(Math.max(0, id.length - 8))}${id.slice(-4)}` : '****';
}
