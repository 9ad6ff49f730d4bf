import type { Migration } from '../migrate.js';

/**
 * Recorder indexes: segments by run (recovery asks "what did run N already index"), runs and
 * open gaps by camera (every restart asks for them).
 */
export const recorder: Migration = {
  id: 'recorder-1',
  sql: `
CREATE INDEX recordings_run ON recordings(run_id);
CREATE INDEX recording_runs_cam ON recording_runs(camera, started_ms);
CREATE INDEX recording_gaps_open ON recording_gaps(camera) WHERE end_ms IS NULL;
`,
};
