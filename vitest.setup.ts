import { setLogDestination } from './agent/core/log.js';

// In-process JSON logs go through the console, which vitest captures per test: with
// `silent: 'passed-only'` they are printed only for failing tests (pino writes to fd 2 otherwise,
// past the runner, and every test's logs would fill the output).
setLogDestination({ write: (line: string) => console.error(line.trimEnd()) });
