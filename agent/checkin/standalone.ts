import path from 'node:path';
import { configSchema } from '../config/schema.js';
import { createContext, type AgentContext } from '../core/context.js';
import { logger } from '../core/log.js';

/**
 * An AgentContext for the check-in server alone (serve.ts, tests, bench): the store at `dbFile`
 * and a config validated by the real schema.
 */
export function standaloneContext(dbFile: string, cfgDoc: unknown = {}, now: () => number = Date.now): AgentContext {
  const doc = { ...(cfgDoc as Record<string, unknown>), paths: { state: path.dirname(dbFile), database: dbFile } };
  return createContext(configSchema.parse(doc), { now, log: logger('checkin') });
}
