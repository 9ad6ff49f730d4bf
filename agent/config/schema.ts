import { z } from 'zod';
import { subStreamUrl } from '../cameras/substream-url.js';

/**
 * The agent's configuration (one YAML file). Every key has a default where a sensible one exists,
 * so the demo runs on an empty config. `npm run schema` writes config/agent.schema.json from this
 * for editor completion; config/agent.example.yaml documents every key.
 */

/** A secret: inline (discouraged), from an environment variable, or from a file (preferred). */
export const secretSchema = z.union([z.string(), z.object({ env: z.string().min(1) }).strict(), z.object({ file: z.string().min(1) }).strict()]);
export type SecretRef = z.infer<typeof secretSchema>;

const hostPort = z.object({ host: z.string().default('0.0.0.0'), port: z.number().int().min(0).max(65535) }).strict();
const port = z.number().int().min(1).max(65535);

/** ids that become folder names and topic levels: no "..", no leading dot or dash, no slash */
const safeId = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/, 'letters, digits, dot, dash, underscore; not starting with a dot or dash');

export const cameraSchema = z
  .object({
    id: safeId,
    name: z.string().optional(),
    /** ONVIF device address; when given, stream URIs are asked from the camera */
    onvif: z
      .object({ host: z.string(), port: port.default(80), username: z.string().optional(), password: secretSchema.optional() })
      .strict()
      .optional(),
    /** explicit RTSP URL; overrides ONVIF's stream URI */
    rtspUrl: z.string().url().optional(),
    username: z.string().optional(),
    password: secretSchema.optional(),
    transport: z.enum(['tcp', 'udp']).default('tcp'),
    enabled: z.boolean().default(true),
    /** which stream is recorded: main (full resolution) or sub (the camera's second, smaller stream: ONVIF's second profile, or subRtspUrl) */
    stream: z.enum(['main', 'sub']).default('main'),
    /**
     * explicit RTSP URL of the sub stream (with rtspUrl cameras; ONVIF cameras give theirs), same
     * credentials. Recorded with `stream: sub`; the console's live view also uses it, only while
     * someone watches, when the recorded stream is H.265, which browsers cannot play.
     */
    subRtspUrl: z.string().url().optional(),
    /** when this camera records: the timetable's lessons plus margins, or always; unset = recorder.schedule */
    record: z.enum(['timetable', 'always']).optional(),
  })
  .strict()
  .refine((c) => c.onvif || c.rtspUrl, { message: 'a camera needs onvif or rtspUrl' })
  // the recorder's sub stream: subRtspUrl, else the vendor's convention on rtspUrl, else ONVIF's second profile
  .refine((c) => c.stream !== 'sub' || c.subRtspUrl || (c.rtspUrl && subStreamUrl(c.rtspUrl)) || c.onvif, {
    message: 'stream: sub needs subRtspUrl or onvif',
    path: ['stream'],
  });

export const terminalSchema = z
  .object({
    id: z.string().min(1),
    protocol: z.enum(['zkteco', 'hikvision', 'dahua', 'webhook']),
    /** device serial number (ZKTeco SN, Hikvision serial) used to recognise its requests */
    serial: z.string().optional(),
    /** for client-mode protocols (Hikvision alertStream, Dahua attach): the device address */
    url: z.string().url().optional(),
    username: z.string().optional(),
    password: secretSchema.optional(),
    /** the terminal's own time zone (ZKTeco ATTLOG times carry none) */
    timezone: z.string().default('Asia/Shanghai'),
    enabled: z.boolean().default(true),
    /** this terminal's own credential for pushes to the box (Bearer, or the Basic password): it writes only as this terminal */
    token: secretSchema.optional(),
    /** this terminal's own HMAC-SHA256 secret (webhook: X-Signature over the body, X-Terminal names the terminal) */
    hmacSecret: secretSchema.optional(),
    /** source addresses or CIDR ranges this terminal may push from ("192.168.1.20", "10.0.0.0/24"); empty = any */
    allow: z.array(z.string().min(1)).optional(),
  })
  .strict();

export const configSchema = z
  .object({
    version: z.literal(1).default(1),
    box: z
      .object({
        id: safeId.default('box-demo'),
        name: z.string().optional(),
        /** the room this box records; lessons of classes in this room are the box's lessons */
        room: z.string().default('room-1'),
        timezone: z.string().default('Asia/Shanghai'),
      })
      .strict()
      .default({ id: 'box-demo', room: 'room-1', timezone: 'Asia/Shanghai' }),
    paths: z
      .object({
        state: z.string().default('/var/lib/classroom-agent'),
        video: z.string().optional(),
        database: z.string().optional(),
      })
      .strict()
      .default({ state: '/var/lib/classroom-agent' }),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
        /** seconds between the daemon's `health` log lines (memory, open files, event-loop delay); 0 = none */
        healthSeconds: z.number().int().min(0).default(300),
      })
      .strict()
      .default({ level: 'info', healthSeconds: 300 }),
    profile: z.string().default('henan-2025'),
    cameras: z.array(cameraSchema).default([]),
    discovery: z
      .object({
        multicast: z.boolean().default(true),
        /** unicast probe targets: "192.168.1.10", "192.168.1.1-254" or "10.0.0.0/24" */
        ranges: z.array(z.string()).default([]),
        ports: z.array(port).default([80, 8000, 8080, 2020]),
        timeoutMs: z.number().int().positive().default(3000),
        username: z.string().optional(),
        password: secretSchema.optional(),
      })
      .strict()
      .default({ multicast: true, ranges: [], ports: [80, 8000, 8080, 2020], timeoutMs: 3000 }),
    recorder: z
      .object({
        segmentSeconds: z.number().int().min(2).max(600).default(60),
        /** no new bytes for this long means the stream is stalled: ffmpeg is restarted */
        stallSeconds: z.number().positive().default(10),
        backoffInitialMs: z.number().int().positive().default(1000),
        backoffMaxMs: z.number().int().positive().default(60_000),
        /** while a camera is unreachable, ask it (RTSP OPTIONS) this often, so recording resumes soon after it returns */
        reconnectPollMs: z.number().int().positive().default(500),
        /** below this much free space on the video disk, recording stops with a 'disk full' gap and an alarm */
        minFreeBytes: z
          .number()
          .int()
          .min(0)
          .default(64 * 1024 * 1024),
        /** how long ffmpeg may take to close its segment after SIGINT before it is killed */
        stopTimeoutMs: z.number().int().positive().default(5000),
        /** an ffmpeg whose agent is gone (no heartbeat) for this long stops itself; a restarted agent adopts it before that */
        orphanMinutes: z.number().int().min(1).max(1440).default(10),
        ffmpegPath: z.string().optional(),
        ffprobePath: z.string().optional(),
        /** timetable: each camera records the lessons of this room plus the margins (cameras[].record overrides); always: around the clock */
        schedule: z.enum(['timetable', 'always']).default('timetable'),
        /** minutes recorded before each lesson starts and after it ends (trainees arrive early, lessons overrun) */
        marginBeforeMinutes: z.number().min(0).max(240).default(10),
        marginAfterMinutes: z.number().min(0).max(240).default(10),
      })
      .strict()
      .default({
        segmentSeconds: 60,
        stallSeconds: 10,
        backoffInitialMs: 1000,
        backoffMaxMs: 60_000,
        reconnectPollMs: 500,
        minFreeBytes: 64 * 1024 * 1024,
        stopTimeoutMs: 5000,
        orphanMinutes: 10,
        schedule: 'timetable',
        marginBeforeMinutes: 10,
        marginAfterMinutes: 10,
      }),
    checkin: z
      .object({
        listen: hostPort.default({ host: '0.0.0.0', port: 8090 }),
        maxBodyBytes: z.number().int().positive().default(1_048_576),
        requestTimeoutMs: z.number().int().positive().default(15_000),
        /** bearer token for the webhook and for terminals that can send one */
        token: secretSchema.optional(),
        /** HMAC-SHA256 secret for signed webhook requests */
        hmacSecret: secretSchema.optional(),
        /** minutes without any event during a lesson before a terminal is reported quiet */
        quietMinutes: z.number().positive().default(15),
        /** group commit: requests arriving within this window share one transaction (one fsync) */
        batchWindowMs: z.number().int().min(0).max(100).default(2),
        /** stream clients (Hikvision alertStream, Dahua attach): reconnect when silent this long */
        streamHeartbeatTimeoutMs: z.number().int().positive().default(90_000),
        reconnectMinMs: z.number().int().positive().default(1000),
        reconnectMaxMs: z.number().int().positive().default(60_000),
        /** how often terminal health (quiet during a lesson) is checked */
        healthIntervalMs: z.number().int().positive().default(60_000),
        /** open connections at most, in total and from one source address (a configured terminal's address is not capped per address) */
        maxConnections: z.number().int().positive().default(1024),
        maxConnectionsPerAddress: z.number().int().positive().default(32),
        /** the request line and headers must arrive within this time */
        headersTimeoutMs: z.number().int().positive().default(10_000),
        /** a connection idle (no byte either way) this long is closed */
        idleTimeoutMs: z.number().int().positive().default(30_000),
        /** accept `?token=` in URLs (for devices that can only be given a URL); headers are preferred: URLs end up in logs */
        allowQueryToken: z.boolean().default(true),
        /** raw input bodies kept (evidence, 3 years) above this size raise an alarm */
        rawBudgetBytes: z
          .number()
          .int()
          .positive()
          .default(512 * 1_048_576),
        /** HTTPS on the check-in port: the box certificate and its key (PEM files), made at install */
        tls: z
          .object({ cert: z.string().min(1), key: z.string().min(1) })
          .strict()
          .optional(),
      })
      .strict()
      .default({
        listen: { host: '0.0.0.0', port: 8090 },
        maxBodyBytes: 1_048_576,
        requestTimeoutMs: 15_000,
        quietMinutes: 15,
        batchWindowMs: 2,
        streamHeartbeatTimeoutMs: 90_000,
        reconnectMinMs: 1000,
        reconnectMaxMs: 60_000,
        healthIntervalMs: 60_000,
        maxConnections: 1024,
        maxConnectionsPerAddress: 32,
        headersTimeoutMs: 10_000,
        idleTimeoutMs: 30_000,
        allowQueryToken: true,
        rawBudgetBytes: 512 * 1_048_576,
      }),
    terminals: z.array(terminalSchema).default([]),
    vision: z
      .object({
        enabled: z.boolean().default(true),
        /** face-api backend: tfjs-node ("tensorflow") when installed, else wasm; "auto" picks */
        backend: z.enum(['auto', 'tensorflow', 'wasm']).default('auto'),
        /** one analysed frame every N seconds of recorded video, per camera */
        sampleEverySeconds: z.number().positive().default(10),
        /** frames are scaled to this width before analysis (never enlarged); a back-row face needs the camera's full 1920 */
        frameWidth: z.number().int().positive().default(1920),
        /** the frame is also searched at the scale of a tile of this side (px) shown to the detector as 512 px, in overlapping pieces (0: whole frame only), so 32-60 px faces are found */
        tileSize: z.number().int().min(0).default(640),
        /** overlap of neighbouring pieces (px): every face up to this wide lies whole in one piece */
        tileOverlap: z.number().int().min(0).default(160),
        /**
         * the whole tiled search runs on every Nth frame of a camera (and after a gap or a changed scene); between, only the
         * whole frame and the regions around the camera's recent small faces (focus.ts). Default 1, tiles on every frame:
         * 3 saves about 24 % of a frame's CPU but costs recall on 40-119 px faces (docs/vision.md), so it is a technician's
         * choice for a box short of CPU, not the default
         */
        fullScanEvery: z.number().int().min(1).default(1),
        /** a face matches a trainee only below this descriptor distance (face-api's 0.6 was tuned on LFW; on the demo cohort strangers came as close as 0.45 while the same person stayed under 0.25) */
        threshold: z.number().min(0).max(2).default(0.4),
        /** per-camera thresholds (camera id → distance), from `vision calibrate` on that camera's video; others use `threshold` */
        cameraThresholds: z.record(z.string(), z.number().min(0).max(2)).default({}),
        /** ... and only when the second-nearest trainee is at least this much further */
        margin: z.number().min(0).max(1).default(0.08),
        /** a trainee counts as seen in a lesson after matches in at least this many frames */
        minFrames: z.number().int().min(1).default(2),
        /** faces narrower than this (pixels, in the analysed frame) are counted but not identified */
        minFaceSize: z.number().int().positive().default(40),
        /** detector confidence */
        minConfidence: z.number().min(0.05).max(0.99).default(0.5),
        /** enrollment photo rules: smallest face width (px) and sharpness (Laplacian variance) */
        enrollMinFacePx: z.number().int().positive().default(80),
        enrollMinSharpness: z.number().min(0).default(30),
        /** photos a trainee needs at enrollment (one photo under one light misses the trainee in class) */
        enrollMinPhotos: z.number().int().min(1).default(2),
        /**
         * recycle the analysis thread after this many frames: its wasm heap only grows (fragmented
         * by frames with different face counts), and a new thread starts from the loaded model's
         * size; 200 frames keep the drift inside one life to ~10-20 MB (soak bench)
         */
        recycleAfterFrames: z.number().int().positive().default(200),
        /** analysis threads (one core each on wasm); 2 on a 2-core box doubles frames/s but starves other work */
        threads: z.number().int().min(1).max(16).default(1),
        /** AES-256-GCM key for face data (created 0600 when absent); unset: the systemd credential vision.key, else <state>/vision.key (docs/checkin-security.md §5) */
        keyFile: z.string().optional(),
        /** keep the enrollment photos (encrypted) beside the descriptors; off by default */
        keepPhotos: z.boolean().default(false),
        /** keep, per trainee, lesson and segment, the best-matching face crop (sealed, expires with the match) for reviewers */
        keepCrops: z.boolean().default(true),
      })
      .strict()
      .default({
        enabled: true,
        backend: 'auto',
        sampleEverySeconds: 10,
        frameWidth: 1920,
        tileSize: 640,
        tileOverlap: 160,
        fullScanEvery: 1,
        threshold: 0.4,
        cameraThresholds: {},
        margin: 0.08,
        minFrames: 2,
        minFaceSize: 40,
        minConfidence: 0.5,
        enrollMinFacePx: 80,
        enrollMinSharpness: 30,
        enrollMinPhotos: 2,
        recycleAfterFrames: 200,
        threads: 1,
        keepPhotos: false,
        keepCrops: true,
      }),
    sync: z
      .object({
        enabled: z.boolean().default(true),
        url: z.string().default('mqtt://127.0.0.1:1883'),
        topicPrefix: z.string().default('classroom/v1'),
        username: z.string().optional(),
        password: secretSchema.optional(),
        /** send sync.password over a URL without TLS (mqtt://, ws://); refused otherwise, since anyone on the path reads it */
        allowPlaintextPassword: z.boolean().default(false),
        tls: z
          .object({ ca: z.string().optional(), cert: z.string().optional(), key: z.string().optional(), rejectUnauthorized: z.boolean().default(true) })
          .strict()
          .optional(),
        batchSize: z.number().int().positive().max(5000).default(500),
        maxInFlight: z.number().int().positive().max(100).default(4),
        ackTimeoutMs: z.number().int().positive().default(30_000),
        reconnectMinMs: z.number().int().positive().default(1000),
        reconnectMaxMs: z.number().int().positive().default(60_000),
      })
      .strict()
      .default({
        enabled: true,
        url: 'mqtt://127.0.0.1:1883',
        topicPrefix: 'classroom/v1',
        allowPlaintextPassword: false,
        batchSize: 500,
        maxInFlight: 4,
        ackTimeoutMs: 30_000,
        reconnectMinMs: 1000,
        reconnectMaxMs: 60_000,
      }),
    /**
     * remote live inspection (contract v1.1 `live`): on the province's request the box pushes a
     * camera's stream, stream-copied, to the province's media server over an outbound connection
     */
    inspection: z
      .object({
        enabled: z.boolean().default(true),
        /** the province's ingest base (rtmp:// or rtsp://); a request names only a stream key under it. Unset: requests are refused */
        pushUrl: z
          .string()
          .url()
          .refine((u) => /^(rtmp|rtmps|rtsp|rtsps):\/\//.test(u), { message: 'rtmp://, rtmps://, rtsp:// or rtsps://' })
          .optional(),
        /** pushes at once; more are refused */
        maxConcurrent: z.number().int().min(1).max(16).default(2),
        /** the longest push, whatever the request asks; also ffmpeg's own -t, so no push outlives it */
        maxSeconds: z.number().int().positive().max(3600).default(600),
        /** upload budget of all pushes together; the newest push is stopped when they exceed it */
        maxKbps: z.number().int().positive().default(8000),
        /** the province's tus endpoint for playback on request (clips and their manifests). Unset: clip requests are refused */
        uploadUrl: z.string().url().optional(),
        /** the longest clip a request may ask for */
        maxClipSeconds: z
          .number()
          .int()
          .positive()
          .max(24 * 3600)
          .default(3600),
      })
      .strict()
      .default({ enabled: true, maxConcurrent: 2, maxSeconds: 600, maxKbps: 8000, maxClipSeconds: 3600 }),
    /** live lessons: at-risk alarms while a lesson is on, verdicts when it ends */
    monitor: z
      .object({
        /** how often lessons on now are re-judged (also on every segment, sighting, check-in) */
        tickSeconds: z.number().positive().max(300).default(5),
        /** raise "trainees not yet seen" once this many minutes of the lesson are left */
        unseenWarnMinutes: z.number().min(0).default(10),
        /** wait after a lesson ends for its last segment and sightings before its verdict; default segmentSeconds + 10 */
        settleSeconds: z.number().min(0).optional(),
        /** late evidence for an ended class: re-evaluate after this quiet time */
        lateDebounceSeconds: z.number().min(0).default(5),
      })
      .strict()
      .default({ tickSeconds: 5, unseenWarnMinutes: 10, lateDebounceSeconds: 5 }),
    /** the browser console (live view, playback, lesson timelines); it listens only once a user exists (`classroom-agent users add`) */
    console: z
      .object({
        listen: hostPort.default({ host: '0.0.0.0', port: 8443 }),
        /** HTTPS with these PEM files (the box certificate); without them the console speaks plain HTTP on the school network */
        tls: z
          .object({ cert: z.string().min(1), key: z.string().min(1) })
          .strict()
          .optional(),
        /** a session ends after this long without a request ... */
        sessionIdleMinutes: z.number().positive().default(30),
        /** ... or this long after login, whichever comes first */
        sessionMaxHours: z.number().positive().default(12),
        /** failed logins allowed per address and per user name within loginWindowMinutes */
        loginMaxFailures: z.number().int().positive().default(5),
        loginWindowMinutes: z.number().positive().default(15),
        /**
         * show matched face crops beside sightings (school and inspector only; never the
         * technician). Off by default: 60号 timelines need ids and names, not faces. Set here, in
         * the box's config, not from the console: the console has no write route at all.
         */
        showFaceImages: z.boolean().default(false),
      })
      .strict()
      .default({ listen: { host: '0.0.0.0', port: 8443 }, sessionIdleMinutes: 30, sessionMaxHours: 12, loginMaxFailures: 5, loginWindowMinutes: 15, showFaceImages: false }),
    retention: z
      .object({
        /** bytes the agent may use for video and database; default: 90 % of the disk */
        diskBudgetBytes: z.number().int().positive().optional(),
        alarmDaysBeforeFull: z.number().positive().default(30),
        purgeBatch: z.number().int().positive().default(1000),
        /** where expired segments are copied before deletion; when set, deletion waits for it */
        archiveDir: z.string().optional(),
        /** how often the retention pass runs (purge, disk forecast) */
        intervalMinutes: z.number().positive().default(60),
        /** days of recordings over which the recording rate (bytes/day) is measured */
        rateWindowDays: z.number().positive().default(7),
      })
      .strict()
      .default({ alarmDaysBeforeFull: 30, purgeBatch: 1000, intervalMinutes: 60, rateWindowDays: 7 }),
    evidence: z
      .object({
        /**
         * folder of the box's Ed25519 log key (log.key, 0600), its public key (log.pub) and the
         * latest signed checkpoint; never inside the database. Default <state>/keys
         */
        keyFolder: z.string().optional(),
        /** minutes between signed checkpoints (one is also signed at each verdict) */
        checkpointMinutes: z.number().positive().default(5),
      })
      .strict()
      .default({ checkpointMinutes: 5 }),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type CameraConfig = z.infer<typeof cameraSchema>;
export type TerminalConfig = z.infer<typeof terminalSchema>;
