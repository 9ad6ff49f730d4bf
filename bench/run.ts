/**
 * `npm run bench`: every benchmark prints its figure beside a baseline measured in the same run
 * (agent vs bare library/tool), because these machines are shared and absolute times are noise.
 * Run one with `npm run bench -- NAME`.
 */
import { initLogging } from '../agent/core/log.js';
import { benches } from './index.js';

// benches print figures on stdout; the agent's own logs would only drown them
initLogging({ level: process.env.LOG_LEVEL ?? 'warn' });

const only = process.argv.slice(2);
for (const b of benches) {
  if (only.length && !only.includes(b.name)) continue;
  console.log(`\n=== ${b.name}: ${b.title}`);
  try {
    await b.run();
  } catch (err) {
    console.log(`  FAILED: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
