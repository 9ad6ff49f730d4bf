import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { CentralReceiver, type ReceiverOptions } from '../../central/receiver.js';
import type { StoredRecord } from '../../central/db.js';
import type { ClassPlan } from '../../classes/classfile.js';
import { configSchema, type Config } from '../../config/schema.js';
import { formatLocal } from '../../core/time.js';
import { ClassRepo } from '../../store/classes.js';
import { Store } from '../../store/store.js';
import { freePort, startAedes, type AedesBroker } from '../broker.js';
import { SimCamera } from '../camera/camera.js';
import { ZkDevice } from '../terminals/zkteco.js';
import { enrollDemoClass, makeDemoClassroom, scheduleDemoClass, type DemoClassroom, type DemoTimetable } from './classroom.js';

export interface RigOptions {
  dir: string;
  /** an external broker (Mosquitto in the integration tests); default: an embedded aedes */
  brokerUrl?: string;
  /** shared-subscription group of the receiver ('' for brokers without $share, such as aedes) */
  group?: string;
  vision?: boolean;
  say?: (zh: string, en: string) => void;
  mqtt?: ReceiverOptions['mqtt'];
}

const CAMERA_PW = 'demo-camera-pw';

/** How the demo's daemon samples and matches the simulated camera (classroom.test.ts checks the seating against it). */
export const DEMO_VISION = {
  sampleEverySeconds: 5,
  frameWidth: 1920,
  minFrames: 2,
  // the demo's enrollment photos are crops of group photos, softer than a real ID photo
  enrollMinSharpness: 30,
} as const;
export const TERMINAL_SN = 'ZKDEMO0001';

/**
 * A simulated classroom around a daemon: the camera (ONVIF + live RTSP of sample-photo faces),
 * the door terminal (ZKTeco PUSH), the provincial system (a broker and the reference receiver),
 * the class and its enrollment, and the daemon's config pointing at all of them. The demo runs the
 * daemon in-process against it; the end-to-end and chaos tests run it as a child process.
 */
export class ClassroomRig {
  camera!: SimCamera;
  central!: CentralReceiver;
  cfg!: Config;
  classroom!: DemoClassroom;
  zk!: ZkDevice;
  plan?: ClassPlan;
  readonly received: StoredRecord[] = [];
  private broker?: AedesBroker;
  private brokerUrl = '';
  private say: (zh: string, en: string) => void;

  constructor(private o: RigOptions) {
    this.say = o.say ?? (() => undefined);
  }

  get database(): string {
    return path.join(this.o.dir, 'evidence.db');
  }

  async start(): Promise<this> {
    const dir = this.o.dir;
    fs.mkdirSync(dir, { recursive: true });
    this.say('生成模拟教室画面（face-api 示例照片中的人物）……', "making the simulated classroom (people from face-api's sample photos)…");
    this.classroom = await makeDemoClassroom(path.join(dir, 'classroom'));
    this.camera = await new SimCamera({ username: 'admin', password: CAMERA_PW, rtsp: { images: this.classroom.frames, width: 1920, height: 1080, fps: 5, keyint: 5, bitrateKbps: 2500 } }).start();
    this.say(`模拟摄像头 ONVIF ${this.camera.deviceUrl}，RTSP ${this.camera.rtspUrl}`, `simulated camera: ONVIF ${this.camera.deviceUrl}, RTSP ${this.camera.rtspUrl}`);

    if (this.o.brokerUrl) this.brokerUrl = this.o.brokerUrl;
    else {
      this.broker = await startAedes();
      this.brokerUrl = this.broker.url;
    }
    const prefix = 'classroom/v1';
    this.central = new CentralReceiver({
      url: this.brokerUrl,
      prefix,
      db: path.join(dir, 'central.db'),
      group: this.o.group ?? (this.o.brokerUrl ? 'central' : ''),
      reorderTimeoutMs: 3000,
      ...(this.o.mqtt ? { mqtt: this.o.mqtt } : {}),
      onRecord: (r) => this.received.push(r),
    });
    await this.central.start();
    this.say(`MQTT 代理 ${this.brokerUrl}，省信息系统（参考接收端）已连接`, `MQTT broker ${this.brokerUrl}; provincial system (reference receiver) connected`);

    const checkinPort = await freePort();
    // the console on loopback only: the demo's login is printed on the screen
    const consolePort = Number(process.env.DEMO_CONSOLE_PORT) || (await freePort());
    this.cfg = configSchema.parse({
      box: { id: 'demo-box-01', room: 'room-101' },
      paths: { state: dir },
      profile: 'demo-minutes',
      cameras: [{ id: 'cam-1', name: '101 教室前方 / room 101 front', onvif: { host: '127.0.0.1', port: this.camera.httpPort, username: 'admin', password: CAMERA_PW } }],
      recorder: { segmentSeconds: 10 },
      checkin: { listen: { host: '127.0.0.1', port: checkinPort }, healthIntervalMs: 10_000, quietMinutes: 2 },
      console: { listen: { host: '127.0.0.1', port: consolePort } },
      terminals: [{ id: 'gate-1', protocol: 'zkteco', serial: TERMINAL_SN, timezone: 'Asia/Shanghai' }],
      vision: { enabled: this.o.vision ?? true, ...DEMO_VISION },
      sync: { url: this.brokerUrl, topicPrefix: prefix, ackTimeoutMs: 5000, reconnectMaxMs: 5000 },
      monitor: { tickSeconds: 2, settleSeconds: 15, lateDebounceSeconds: 3, unseenWarnMinutes: 0.3 },
    });
    this.zk = new ZkDevice(`http://127.0.0.1:${checkinPort}`, TERMINAL_SN);
    if (this.o.vision ?? true) await this.enroll();
    return this;
  }

  private async enroll(): Promise<void> {
    const store = new Store({ file: this.database });
    try {
      await enrollDemoClass(this.cfg, store, this.classroom, (trainee, why) =>
        this.say(`学员 ${trainee} 的照片未通过质量检查，跳过：${why}`, `a photo of ${trainee} failed the quality check and is skipped: ${why}`),
      );
    } finally {
      store.close();
    }
  }

  /** The school imports its class: lessons start `leadSeconds` from now. */
  importClass(tt: DemoTimetable, now = Date.now()): ClassPlan {
    const plan = scheduleDemoClass(this.classroom, now, tt);
    const store = new Store({ file: this.database });
    try {
      new ClassRepo(store).save(plan, this.cfg.profile);
    } finally {
      store.close();
    }
    return (this.plan = plan);
  }

  /** The daemon's config as a YAML file (for `classroom-agent run --config`). */
  writeConfig(file: string): string {
    fs.writeFileSync(file, YAML.stringify(this.cfg));
    return file;
  }

  /** Wait until the daemon's check-in server answers the terminal's handshake. */
  async waitForCheckinServer(limitMs = 90_000): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      try {
        await this.zk.handshake();
        return;
      } catch (err) {
        if (Date.now() - t0 > limitMs) throw new Error(`the daemon's check-in server did not answer within ${limitMs} ms: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Everyone enrolled punches in at the door (the absent trainee does not come). */
  async checkInEveryone(at = Date.now()): Promise<void> {
    await this.waitForCheckinServer();
    let k = 0;
    for (const [trainee, pin] of this.classroom.pins) {
      if (!this.classroom.photos.has(trainee)) continue;
      const t = at - 20_000 + k++ * 1000;
      this.zk.punch(pin, `${formatLocal(t)}:${String(new Date(t).getUTCSeconds()).padStart(2, '0')}`);
    }
    await this.zk.sync();
  }

  /** The class verdicts the provincial system received, oldest first. */
  classVerdicts(): Array<{ eligible: boolean; violations: Array<{ rule: string; lesson?: string; trainee?: string; teacher?: string }> }> {
    return this.received.filter((r) => r.type === 'class-verdict').map((r) => r.data as never);
  }

  async stop(): Promise<void> {
    for (const step of [() => this.central?.stop(), () => this.broker?.close(), () => this.camera?.stop()]) {
      try {
        await step();
      } catch {
        // best effort: the simulators' own state is throwaway
      }
    }
  }
}
