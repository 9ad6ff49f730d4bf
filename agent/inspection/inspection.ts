import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import type { AgentContext } from '../core/context.js';
import type { AgentEvents } from '../core/events.js';
import { logger, maskUrl } from '../core/log.js';
import type { Module } from '../core/module.js';
import { parseProgress, pushArgs, type PushProgress } from '../ffmpeg/push.js';
import { spawnFfmpeg } from '../ffmpeg/run.js';
import { streamUrlOf } from '../cameras/stream.js';
import { InspectionRepo } from '../store/inspections.js';
import { ClipUploads } from './clips.js';

interface Push {
  id: string;
  camera: string;
  child: ChildProcess;
  startedAt: number;
  progress: PushProgress;
  /** bytes and time at the last bandwidth look */
  last: { bytes: number; at: number };
  kbps: number;
  pushing: boolean;
  endReason?: { zh: string; en: string };
  timer: NodeJS.Timeout;
}

const KILL_AFTER_MS = 3000;
/** how many progress reports in a row over the budget before the newest push is stopped */
const OVER_BUDGET_REPORTS = 3;

/**
 * Remote live inspection (60号: 远程实时巡检). The province asks over MQTT (`live`); the box
 * pushes that camera's stream, stream-copied, to `inspection.pushUrl/<key>` over an outbound
 * connection (schools are behind NAT), for at most `maxSeconds`, at most `maxConcurrent` at once
 * and within `maxKbps` together. Playback on request (`clip`) uploads a recorded range with its
 * manifest (clips.ts). Every step is an evidence row and a record to the province.
 */
export class Inspection implements Module {
  readonly name = 'inspection';
  private log: Logger = logger('inspection');
  private repo!: InspectionRepo;
  private clips!: ClipUploads;
  private pushes = new Map<string, Push>();
  private overBudget = 0;
  private stopping = false;

  constructor(private ctx: AgentContext) {}

  async start(): Promise<void> {
    this.repo = new InspectionRepo(this.ctx.store);
    this.stopping = false;
    this.clips = new ClipUploads(this.ctx, this.log, (id, camera, state, msg) => this.emit(id, camera, state, msg, undefined, 'clip'));
    this.ctx.bus.on(this, 'clip.request', (r) => this.clips.request(r));
    this.clips.resume();
    this.ctx.bus.on(this, 'inspection.request', (r) => void this.onRequest(r));
    this.ctx.bus.on(this, 'inspection.stop', (r) => this.end(r.id, { zh: '省平台要求停止', en: 'stopped by the province' }));
    const { pushUrl, maxConcurrent, maxSeconds, maxKbps } = this.ctx.cfg.inspection;
    this.log.info({ pushUrl: pushUrl ? maskUrl(pushUrl) : null, maxConcurrent, maxSeconds, maxKbps }, pushUrl ? 'inspection ready' : 'inspection off: no inspection.pushUrl');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.ctx.bus.removeListeners(this);
    this.clips?.stop();
    const all = [...this.pushes.values()];
    for (const p of all) this.end(p.id, { zh: '本机代理停止', en: 'the agent is stopping' });
    await Promise.all(all.map((p) => new Promise<void>((r) => (p.child.exitCode !== null || p.child.signalCode !== null ? r() : p.child.once('exit', () => r())))));
  }

  /** Pushes now (for status and tests). */
  active(): Array<{ id: string; camera: string; kbps: number; pushing: boolean }> {
    return [...this.pushes.values()].map((p) => ({ id: p.id, camera: p.camera, kbps: p.kbps, pushing: p.pushing }));
  }

  private emit(id: string, camera: string, state: AgentEvents['inspection.state']['state'], msg: { zh: string; en: string }, key?: string, kind: 'live' | 'clip' = 'live'): void {
    const at = this.ctx.now();
    const message = `${msg.zh} / ${msg.en}`;
    try {
      this.repo.record({ inspection: id, camera, state, at, detail: message, key });
    } catch (err) {
      this.log.error({ err: (err as Error).message, inspection: id }, 'inspection event not stored');
    }
    this.ctx.bus.emit('inspection.state', { id, kind, camera, state, message, at });
  }

  private refuse(id: string, camera: string, msg: { zh: string; en: string }): void {
    this.log.warn({ inspection: id, camera, reason: msg.en }, 'live inspection refused');
    this.emit(id, camera, 'refused', msg);
  }

  private async onRequest(r: AgentEvents['inspection.request']): Promise<void> {
    const { cfg } = this.ctx;
    const ins = cfg.inspection;
    if (this.pushes.has(r.id) || this.stopping) return;
    if (!ins.enabled || !ins.pushUrl) return this.refuse(r.id, r.camera, { zh: '本机未配置远程巡检推流地址（inspection.pushUrl）', en: 'this box has no inspection.pushUrl configured' });
    const index = cfg.cameras.findIndex((c) => c.id === r.camera && c.enabled);
    if (index < 0) return this.refuse(r.id, r.camera, { zh: `本机没有启用的摄像机 ${r.camera}`, en: `no enabled camera ${r.camera} on this box` });
    if (this.pushes.size >= ins.maxConcurrent) {
      return this.refuse(r.id, r.camera, { zh: `已有 ${this.pushes.size} 路推流，达到上限 inspection.maxConcurrent`, en: `${this.pushes.size} pushes running, the inspection.maxConcurrent limit` });
    }
    const cam = cfg.cameras[index]!;
    const seconds = Math.min(r.seconds ?? ins.maxSeconds, ins.maxSeconds);
    let source: string;
    try {
      source = await streamUrlOf(cam, `cameras[${index}]`);
    } catch (err) {
      return this.refuse(r.id, r.camera, { zh: `摄像机地址无法获得：${maskUrl((err as Error).message)}`, en: `camera stream not available: ${maskUrl((err as Error).message)}` });
    }
    // the command names a key under the configured base, never a URL: video goes nowhere else
    const target = `${ins.pushUrl.replace(/\/+$/, '')}/${r.key}`;
    this.emit(r.id, r.camera, 'requested', { zh: `开始推流，最长 ${seconds} 秒`, en: `push starting, ${seconds} s at most` }, r.key);
    const child = spawnFfmpeg(pushArgs(source, cam.transport, target, seconds), { ffmpegPath: cfg.recorder.ffmpegPath });
    const p: Push = {
      id: r.id,
      camera: r.camera,
      child,
      startedAt: this.ctx.now(),
      progress: { bytes: 0, outTimeMs: 0, ended: false },
      last: { bytes: 0, at: Date.now() },
      kbps: 0,
      pushing: false,
      // ffmpeg's -t ends it on time; this covers a push stuck before its first packet
      timer: setTimeout(() => this.end(r.id, { zh: '达到最长推流时间', en: 'time limit reached' }), (seconds + 15) * 1000),
    };
    this.pushes.set(r.id, p);
    // the stream key lets whoever holds it publish to that stream while it is open: never logged
    this.log.info({ inspection: r.id, camera: r.camera, target: `${maskUrl(ins.pushUrl)}/<key>`, seconds }, 'live push started');
    let lastError = '';
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (parseProgress(line, p.progress)) this.onProgress(p);
      else if (!/^[a-z_0-9]+=/.test(line) && line.trim()) lastError = maskUrl(line.trim()).split(r.key).join('<key>').slice(0, 300);
    });
    child.once('error', (err) => {
      lastError = err.message;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(p.timer);
      this.pushes.delete(r.id);
      const reason =
        p.endReason ??
        (p.progress.ended && code === 0
          ? { zh: '达到最长推流时间', en: 'time limit reached' }
          : { zh: `推流中断（ffmpeg ${signal ?? `退出码 ${code}`}）：${lastError || '无输出'}`, en: `push failed (ffmpeg ${signal ?? `exit ${code}`}): ${lastError || 'no output'}` });
      this.log.info({ inspection: r.id, camera: r.camera, code, signal, bytes: p.progress.bytes, reason: reason.en }, 'live push ended');
      this.emit(r.id, r.camera, p.pushing || p.endReason ? 'ended' : 'refused', reason);
    });
  }

  private onProgress(p: Push): void {
    const now = Date.now();
    if (!p.pushing && p.progress.bytes > 0) {
      p.pushing = true;
      this.emit(p.id, p.camera, 'pushing', { zh: '正在推流', en: 'pushing' });
    }
    const dt = (now - p.last.at) / 1000;
    if (dt >= 0.5) {
      p.kbps = Math.round(((p.progress.bytes - p.last.bytes) * 8) / 1000 / dt);
      p.last = { bytes: p.progress.bytes, at: now };
      this.checkBudget();
    }
  }

  /** Over the upload budget for several reports in a row: the newest push goes. */
  private checkBudget(): void {
    const total = [...this.pushes.values()].reduce((a, p) => a + p.kbps, 0);
    if (total <= this.ctx.cfg.inspection.maxKbps) {
      this.overBudget = 0;
      return;
    }
    if (++this.overBudget < OVER_BUDGET_REPORTS) return;
    this.overBudget = 0;
    const newest = [...this.pushes.values()].sort((a, b) => b.startedAt - a.startedAt)[0];
    if (newest) {
      const max = this.ctx.cfg.inspection.maxKbps;
      this.end(newest.id, { zh: `推流总码率 ${total} kbit/s 超过上限 ${max}（inspection.maxKbps）`, en: `pushes total ${total} kbit/s, over the inspection.maxKbps budget of ${max}` });
    }
  }

  /** Stop a push: one SIGINT (ffmpeg closes the stream cleanly), SIGKILL if it lingers. */
  private end(id: string, why: { zh: string; en: string }): void {
    const p = this.pushes.get(id);
    if (!p || p.endReason) return;
    p.endReason = why;
    p.child.kill('SIGINT');
    setTimeout(() => {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    }, KILL_AFTER_MS).unref();
  }
}
