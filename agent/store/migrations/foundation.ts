import type { Migration } from '../migrate.js';

/**
 * The evidence schema. Times are UTC milliseconds (INTEGER). Every evidence row carries
 * created_ms (when the box learnt it), expires_ms (when the retention policy may purge it;
 * 3 years after the event under henan-2025) and sync_state ('local': never sent, 'pending':
 * in the outbox, 'acked': the provincial system committed it).
 */
export const foundation: Migration = {
  id: 'foundation-1',
  sql: `
CREATE TABLE classes (
  id TEXT PRIMARY KEY,
  profile TEXT NOT NULL,
  room TEXT,
  name TEXT,
  workstations INTEGER,
  satisfaction REAL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  sync_state TEXT NOT NULL DEFAULT 'local'
);
CREATE TABLE trainees (
  class_id TEXT NOT NULL REFERENCES classes(id),
  id TEXT NOT NULL,
  name TEXT,
  -- the terminals' own ids for this person (ZKTeco PIN, Hikvision employeeNo), JSON array
  terminal_ids TEXT NOT NULL DEFAULT '[]',
  has_previous INTEGER NOT NULL DEFAULT 0,
  previous_assessed_ms INTEGER,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  sync_state TEXT NOT NULL DEFAULT 'local',
  PRIMARY KEY (class_id, id)
);
CREATE TABLE teachers (
  class_id TEXT NOT NULL REFERENCES classes(id),
  id TEXT NOT NULL,
  name TEXT,
  certified INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  sync_state TEXT NOT NULL DEFAULT 'local',
  PRIMARY KEY (class_id, id)
);
CREATE TABLE lessons (
  class_id TEXT NOT NULL REFERENCES classes(id),
  id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('theory','practical','online')),
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL CHECK (end_ms > start_ms),
  cameras TEXT NOT NULL DEFAULT '[]',
  make_up INTEGER NOT NULL DEFAULT 0,
  room TEXT,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  sync_state TEXT NOT NULL DEFAULT 'local',
  PRIMARY KEY (class_id, id)
);
CREATE INDEX lessons_time ON lessons(start_ms, end_ms);
CREATE TABLE cameras (
  id TEXT PRIMARY KEY,
  name TEXT,
  info TEXT NOT NULL DEFAULT '{}',
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE TABLE recording_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  camera TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  ended_ms INTEGER,
  end_reason TEXT,
  exit_code INTEGER,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  sync_state TEXT NOT NULL DEFAULT 'local'
);
CREATE TABLE recordings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  camera TEXT NOT NULL,
  run_id INTEGER REFERENCES recording_runs(id),
  path TEXT NOT NULL UNIQUE,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL CHECK (end_ms >= start_ms),
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  recovered INTEGER NOT NULL DEFAULT 0,
  archived_ms INTEGER,
  deleted_ms INTEGER,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  sync_state TEXT NOT NULL DEFAULT 'local'
);
CREATE INDEX recordings_cam_time ON recordings(camera, start_ms);
CREATE TABLE recording_gaps (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  camera TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER,
  reason TEXT NOT NULL,
  detail TEXT,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  sync_state TEXT NOT NULL DEFAULT 'local'
);
CREATE INDEX recording_gaps_cam_time ON recording_gaps(camera, start_ms);
CREATE TABLE checkins (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  -- protocol-specific identity used to drop duplicates (ZKTeco SN+PIN+time, Hikvision serialNo, webhook id)
  dedup_key TEXT NOT NULL UNIQUE,
  terminal TEXT NOT NULL,
  person TEXT NOT NULL,
  trainee TEXT,
  class_id TEXT,
  at_ms INTEGER NOT NULL,
  tz_offset_min INTEGER,
  verify_mode TEXT,
  similarity REAL,
  raw_id INTEGER,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  sync_state TEXT NOT NULL DEFAULT 'local'
);
CREATE INDEX checkins_trainee_time ON checkins(trainee, at_ms);
CREATE TABLE sightings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  trainee TEXT NOT NULL,
  class_id TEXT,
  camera TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  recording_id INTEGER,
  offset_ms INTEGER,
  distance REAL,
  margin REAL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  sync_state TEXT NOT NULL DEFAULT 'local'
);
CREATE INDEX sightings_time ON sightings(at_ms);
CREATE TABLE verdicts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  class_id TEXT NOT NULL,
  lesson_id TEXT,
  eligible INTEGER NOT NULL,
  body TEXT NOT NULL,
  computed_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  sync_state TEXT NOT NULL DEFAULT 'local'
);
CREATE INDEX verdicts_class ON verdicts(class_id, computed_ms);
CREATE TABLE alarms (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  message TEXT NOT NULL,
  raised_ms INTEGER NOT NULL,
  cleared_ms INTEGER,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  sync_state TEXT NOT NULL DEFAULT 'local'
);
CREATE INDEX alarms_open ON alarms(kind, subject) WHERE cleared_ms IS NULL;
-- Records waiting for the provincial system's application ack. seq is the per-box sequence.
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  record_id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  payload TEXT NOT NULL,
  acked_ms INTEGER,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE INDEX outbox_unacked ON outbox(seq) WHERE acked_ms IS NULL;
`,
};
