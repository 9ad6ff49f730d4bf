/**
 * Every event on the daemon's bus. Modules talk through these, never by holding each other:
 * the recorder announces a segment, vision samples it, compliance re-evaluates, sync drains.
 * Payloads carry ids and times, never face data or ID numbers. Every event has a production
 * emitter and a production listener (events.test.ts): state that only the CLI or the province
 * reads lives in the store (terminal_state, sync_meta, alarms) or on MQTT, not here.
 */
/** the steps of a live inspection (live) and of a playback on request (clip) */
export type InspectionStateName = 'requested' | 'pushing' | 'ended' | 'refused' | 'exporting' | 'uploading' | 'uploaded' | 'failed';

export interface AgentEvents {
  /** a segment was indexed in the store (recordings.id) */
  'segment.indexed': { id: number; camera: string; path: string; start: number; end: number; bytes: number };
  /** a camera stopped recording (gap opened) or resumed (gap closed) */
  'recording.gap': { camera: string; start: number; end: number | null; reason: string };
  'camera.status': { camera: string; state: 'recording' | 'starting' | 'backoff' | 'stopped'; detail?: string };
  /** a check-in was stored (checkins.id) */
  'checkin.stored': { id: number; terminal: string; trainee: string | null; at: number };
  /** sightings were stored for a segment */
  'sightings.stored': { camera: string; recordingId: number; trainees: string[]; unknownFaces: number };
  'alarm.raised': { kind: string; subject: string; message: string; at: number };
  'alarm.cleared': { kind: string; subject: string; at: number };
  /** the central side acknowledged outbox records up to and including these sequences */
  'sync.acked': { seqs: number[]; at: number };
  /** the province asked for a camera live (contract v1.1 `live`); id is the command's */
  'inspection.request': { id: string; camera: string; key: string; seconds?: number; at: number };
  'inspection.stop': { id: string; at: number };
  /** the province asked for a recorded range (contract v1.1 `clip`); token authorises the upload */
  'clip.request': { id: string; camera: string; from: number; to: number; token: string; at: number };
  /** what became of a live inspection; sync answers the province with it */
  'inspection.state': { id: string; kind: 'live' | 'clip'; camera: string; state: InspectionStateName; message: string; at: number };
  'verdict.computed': { classId: string; lessonId?: string; eligible: boolean; at: number };
  /**
   * a lesson's live state changed (computed by lessons/monitor from compliance/live); its listener
   * is the console's today page (agent/console, in #18's work): events.test.ts allowlists it until then
   */
  'lesson.live': { classId: string; lessonId: string; state: 'ok' | 'at-risk' | 'lost'; reasons: string[]; at: number };
  /** disk budget measured by retention: days until full from the measured recording rate */
  'disk.status': { usedBytes: number; availableBytes: number; bytesPerDay: number; daysUntilFull: number | null; full: boolean; at: number };
}
