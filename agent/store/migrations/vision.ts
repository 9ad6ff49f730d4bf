import type { Migration } from '../migrate.js';

/**
 * Face data and the vision module's own evidence.
 * - face_consents: the separate consent the 2025 face-recognition measures require, one per
 *   trainee, before any descriptor is computed; revocation deletes the trainee's face data.
 * - face_descriptors: AES-256-GCM sealed descriptors (never plaintext), tagged with the model
 *   version; photo only when vision.keepPhotos is set (sealed too).
 * - face_matches: per-frame matches of a trainee in a lesson, before multi-frame agreement;
 *   promoted to sightings once K frames agree (promoted_ms).
 * - vision_frames: one row per analysed frame: faces seen, matched, unknown (the headcount).
 */
export const vision: Migration = {
  id: 'vision-1',
  sql: `
CREATE TABLE face_consents (
  trainee TEXT PRIMARY KEY,
  given_ms INTEGER NOT NULL,
  recorded_by TEXT NOT NULL,
  method TEXT NOT NULL,
  guardian INTEGER NOT NULL DEFAULT 0,
  note TEXT,
  revoked_ms INTEGER,
  created_ms INTEGER NOT NULL
);
CREATE TABLE face_descriptors (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  trainee TEXT NOT NULL,
  model TEXT NOT NULL,
  iv BLOB NOT NULL,
  tag BLOB NOT NULL,
  data BLOB NOT NULL,
  source TEXT NOT NULL,
  face_px INTEGER NOT NULL,
  sharpness REAL NOT NULL,
  photo_iv BLOB,
  photo_tag BLOB,
  photo BLOB,
  created_ms INTEGER NOT NULL
);
CREATE INDEX face_descriptors_trainee ON face_descriptors(trainee, model);
CREATE TABLE face_matches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  class_id TEXT NOT NULL,
  lesson_id TEXT NOT NULL,
  trainee TEXT NOT NULL,
  camera TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  recording_id INTEGER,
  offset_ms INTEGER,
  distance REAL NOT NULL,
  margin REAL NOT NULL,
  promoted_ms INTEGER,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE INDEX face_matches_lesson ON face_matches(class_id, lesson_id, trainee);
CREATE TABLE vision_frames (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  camera TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  recording_id INTEGER,
  offset_ms INTEGER,
  class_id TEXT,
  lesson_id TEXT,
  faces INTEGER NOT NULL,
  matched INTEGER NOT NULL,
  unknown INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE INDEX vision_frames_time ON vision_frames(camera, at_ms);
`,
};
