import type { Migration } from '../migrate.js';

/**
 * Vision, second step (issue #17).
 * - A re-scan of a segment (`vision scan` twice, or the catch-up after a restart) must not count
 *   a frame twice: one headcount row per (recording, offset, lesson) and one match per
 *   (recording, offset, lesson, trainee). Older doubles of these per-frame rows (not evidence:
 *   sightings are, and are left alone) are dropped, keeping the first.
 * - vision_frames.small: faces found but too small to identify (counted, never guessed).
 * - face_matches.box / track / frames: what a reviewer needs to check a sighting: the face's
 *   box in the analysed frame (JSON x,y,width,height, frame pixels), the track it belongs to
 *   and how many frames of that track agreed.
 * - face_crops: the matched face crop for the console, sealed (AES-256-GCM) like descriptors,
 *   expiring with the match it illustrates, deleted with the trainee's face data.
 */
export const vision2: Migration = {
  id: 'vision-2',
  sql: `
DELETE FROM vision_frames WHERE recording_id IS NOT NULL AND id NOT IN
  (SELECT MIN(id) FROM vision_frames WHERE recording_id IS NOT NULL GROUP BY recording_id, offset_ms, lesson_id);
CREATE UNIQUE INDEX vision_frames_once ON vision_frames(recording_id, offset_ms, lesson_id) WHERE recording_id IS NOT NULL;
ALTER TABLE vision_frames ADD COLUMN small INTEGER NOT NULL DEFAULT 0;
-- of doubled matches keep a promoted one: an unpromoted twin would be promoted again later
DELETE FROM face_matches WHERE recording_id IS NOT NULL AND id NOT IN (SELECT id FROM (
  SELECT id, ROW_NUMBER() OVER (PARTITION BY recording_id, offset_ms, lesson_id, trainee ORDER BY promoted_ms IS NULL, id) AS rn
  FROM face_matches WHERE recording_id IS NOT NULL) WHERE rn = 1);
CREATE UNIQUE INDEX face_matches_once ON face_matches(recording_id, offset_ms, lesson_id, trainee) WHERE recording_id IS NOT NULL;
ALTER TABLE face_matches ADD COLUMN box TEXT;
ALTER TABLE face_matches ADD COLUMN track TEXT;
CREATE TABLE face_crops (
  match_id INTEGER PRIMARY KEY REFERENCES face_matches(id) ON DELETE CASCADE,
  trainee TEXT NOT NULL,
  iv BLOB NOT NULL,
  tag BLOB NOT NULL,
  data BLOB NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE INDEX face_crops_trainee ON face_crops(trainee);
CREATE INDEX face_crops_expiry ON face_crops(expires_ms);
`,
};
