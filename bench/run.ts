/**
 * `npm run bench`: every benchmark prints its figure beside a baseline measured in the same run
 * (agent vs bare library/tool), because these machines are shared and absolute times are noise.
 * Run one with `npm run bench -- NAME`.
 */
import { benches } from './index.js';

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
