import { defineConfig } from 'vitest/config';

// Tests sit beside the code they test (agent/**/x.test.ts). Integration tests spawn real
// ffmpeg, brokers and the built CLI, so timeouts are generous and files run in forks.
export default defineConfig({
  test: {
    include: ['agent/**/*.test.ts', 'scripts/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // builds dist/ when a source is newer (13 test files spawn dist/); then the secrets-never-printed
    // audit: every output of the run is searched for configured secrets
    globalSetup: ['./vitest.global-setup.ts', 'agent/testing/global-setup.ts'],
    setupFiles: ['./vitest.setup.ts'],
    // the code's logs (routed through the console by vitest.setup.ts) only for failing tests
    silent: 'passed-only',
  },
});
