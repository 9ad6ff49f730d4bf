/**
 * The evidence the compliance engine judges, in engine form (UTC ms, ids resolved).
 * bundle.ts turns the JSON bundle of docs/design.md §3 into this; the store builds the same bundle.
 */
export type LessonKind = 'theory' | 'practical' | 'online';
export const LESSON_KINDS: readonly LessonKind[] = ['theory', 'practical', 'online'];

export interface Trainee {
  id: string;
  /** undefined: no previous subsidized project; null assessedAt: previous project never assessed */
  previousProject?: { assessedAt: number | null };
}

export interface Teacher {
  id: string;
  certified: boolean;
}

export interface TrainingClass {
  id: string;
  trainees: Trainee[];
  teachers: Teacher[];
  workstations?: number;
  satisfaction?: number;
}

export interface Lesson {
  id: string;
  kind: LessonKind;
  start: number;
  end: number;
  /** cameras covering the lesson's room; empty means any camera */
  cameras: string[];
  makeUp: boolean;
}

export interface Recording {
  camera: string;
  start: number;
  end: number;
}

export interface Sighting {
  trainee: string;
  camera: string;
  at: number;
}

export interface CheckIn {
  trainee: string;
  terminal: string;
  at: number;
}

export interface Evidence {
  profile?: string;
  class: TrainingClass;
  lessons: Lesson[];
  recordings: Recording[];
  sightings: Sighting[];
  checkins: CheckIn[];
}

/** One broken rule, about the class, a lesson, a trainee or a teacher. */
export interface Finding {
  rule: string;
  lesson?: string;
  trainee?: string;
  teacher?: string;
  message: string;
  messageZh: string;
  /** true when the rule rests on a profile value not verified against the province's own text */
  advisory?: boolean;
}

export interface LessonResult {
  id: string;
  kind: LessonKind;
  makeUp: boolean;
  start: string;
  end: string;
  recordedSeconds: number;
  uncoveredSeconds: number;
  longestContinuousSeconds: number;
  traineesOnCamera: string[];
}

export interface TraineeResult {
  id: string;
  lessonsOnCamera: number;
  checkIns: number;
}

export interface Verdict {
  classId: string;
  profile: string;
  eligible: boolean;
  violations: Finding[];
  warnings: Finding[];
  lessons: LessonResult[];
  trainees: TraineeResult[];
  /** 开班人数以当天实到培训人数为准: distinct trainees checked in on the first lesson day */
  openingHeadcount: number;
  /** trainees with check-ins who were never seen on recorded video */
  checkedInNeverSeen: string[];
}
