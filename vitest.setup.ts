import { setLogDestination } from './agent/core/log.js';

// In-process JSON logs go through the console, which vitest captures per test: with
// `silent: 'passed-only'` they are printed only for failing tests (pino writes to fd 2 otherwise,
// past the runner, and every test's logs would fill the output).
// The secrets audit (agent/testing/) still reads every line: vitest holds back passing tests' console.
const audit = (globalThis as { __caSecretAuditCopy?: (line: string) => void }).__caSecretAuditCopy;
setLogDestination({
  write: (line: string) => {
    audit?.(line);
    console.error(line.trimEnd());
  },
});
