import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import * as tus from 'tus-js-client';
import type { AgentContext } from '../core/context.js';
import { exportVideo, manifestPathOf, ExportError } from '../recorder/export.js';
import { RecordingRepo } from '../store/recordings.js';
import { InspectionRepo } from '../store/inspections.js';

/** A clip the province asked for, kept on disk until it is uploaded (survives restarts). */
interface Job {
  id: string;
  camera: string;
  from: number;
  to: number;
  token: string;
  /** tus upload URLs once created: a restart resumes from the server's offset */
  urls: { clip?: string; manifest?: string };
  done: { clip?: boolean; manifest?: boolean };
  exported?: boolean;
}

const RETRY_MS = [1000, 5000, 15_000, 60_000, 300_000];

/**
 * Playback on request (contract v1.1 `clip`): export the range as one playable MP4 with its
 * manifest (agent/recorder/export.ts), then upload both to `inspection.uploadUrl` over tus, a
 * resumable protocol: a school line that breaks, or a box that restarts, continues from the
 * offset the province already holds. Jobs live in <state>/outgoing until the upload is complete.
 */
export class ClipUploads {
  private dir: string;
  private running = new Map<string, tus.Upload>();
  private timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private ctx: AgentContext,
    private log: Logger,
    private emit: (id: string, camera: string, state: 'requested' | 'exporting' | 'uploading' | 'uploaded' | 'refused' | 'failed', msg: { zh: string; en: string }) => void,
  ) {
    this.dir = path.join(ctx.paths.state, 'outgoing');
  }

  /** Resume the jobs a previous run left. */
  resume(): void {
    this.stopped = false;
    if (!fs.existsSync(this.dir)) return;
    for (const f of fs.readdirSync(this.dir).filter((x) => x.endsWith('.job.json'))) {
      try {
        const job = JSON.parse(fs.readFileSync(path.join(this.dir, f), 'utf8')) as Job;
        this.log.info({ request: job.id, camera: job.camera }, 'clip upload resumed after restart');
        void this.run(job, 0);
      } catch (err) {
        this.log.error({ file: f, err: (err as Error).message }, 'clip job unreadable');
      }
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const u of this.running.values()) void u.abort(false);
    this.running.clear();
  }

  request(r: { id: string; camera: string; from: number; to: number; token: string }): void {
    const ins = this.ctx.cfg.inspection;
    const refuse = (zh: string, en: string) => this.emit(r.id, r.camera, 'refused', { zh, en });
    if (!ins.uploadUrl) return refuse('本机未配置回放上传地址（inspection.uploadUrl）', 'this box has no inspection.uploadUrl configured');
    if (!this.ctx.cfg.cameras.some((c) => c.id === r.camera)) return refuse(`本机没有摄像机 ${r.camera}`, `no camera ${r.camera} on this box`);
    if (!(r.to > r.from)) return refuse('结束时间须晚于开始时间', 'the end must be after the start');
    if ((r.to - r.from) / 1000 > ins.maxClipSeconds) return refuse(`时长超过 inspection.maxClipSeconds（${ins.maxClipSeconds} 秒）`, `longer than inspection.maxClipSeconds (${ins.maxClipSeconds} s)`);
    if (fs.existsSync(this.jobFile(r.id))) return;
    const job: Job = { ...r, urls: {}, done: {} };
    this.save(job);
    this.emit(r.id, r.camera, 'requested', { zh: '回放请求已接受', en: 'playback request accepted' });
    void this.run(job, 0);
  }

  private jobFile(id: string): string {
    return path.join(this.dir, `${id}.job.json`);
  }

  private clipFile(id: string): string {
    return path.join(this.dir, `${id}.mp4`);
  }

  private save(job: Job): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // the token lets whoever holds it upload for this request: owner-only, like the database
    fs.writeFileSync(this.jobFile(job.id), JSON.stringify(job), { mode: 0o600 });
  }

  private finish(job: Job): void {
    for (const f of [this.jobFile(job.id), this.clipFile(job.id), manifestPathOf(this.clipFile(job.id))]) fs.rmSync(f, { force: true });
  }

  private async run(job: Job, attempt: number): Promise<void> {
    if (this.stopped) return;
    const clip = this.clipFile(job.id);
    try {
      if (!job.exported) {
        this.emit(job.id, job.camera, 'exporting', { zh: '正在导出', en: 'exporting' });
        await exportVideo({ repo: new RecordingRepo(this.ctx.store), camera: job.camera, from: job.from, to: job.to, out: clip, ffmpegPath: this.ctx.cfg.recorder.ffmpegPath });
        job.exported = true;
        this.save(job);
      }
      this.emit(job.id, job.camera, 'uploading', { zh: '正在上传', en: 'uploading' });
      for (const part of ['manifest', 'clip'] as const) {
        if (job.done[part]) continue;
        await this.upload(job, part, part === 'clip' ? clip : manifestPathOf(clip));
        job.done[part] = true;
        this.save(job);
      }
      this.finish(job);
      this.emit(job.id, job.camera, 'uploaded', { zh: '已上传', en: 'uploaded' });
    } catch (err) {
      if (err instanceof ExportError) {
        this.finish(job);
        this.emit(job.id, job.camera, 'failed', { zh: `无法导出：${err.message}`, en: `cannot export: ${err.message}` });
        return;
      }
      if (this.stopped) return;
      const delay = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]!;
      this.log.warn({ request: job.id, err: (err as Error).message.slice(0, 300), retryInMs: delay }, 'clip upload interrupted; will resume');
      const t = setTimeout(() => {
        this.timers.delete(t);
        void this.run(job, attempt + 1);
      }, delay);
      this.timers.add(t);
    }
  }

  private upload(job: Job, part: 'clip' | 'manifest', file: string): Promise<void> {
    const ins = this.ctx.cfg.inspection;
    return new Promise((resolve, reject) => {
      const up = new tus.Upload(fs.createReadStream(file), {
        endpoint: ins.uploadUrl,
        uploadUrl: job.urls[part] ?? null,
        uploadSize: fs.statSync(file).size,
        chunkSize: 4 * 2 ** 20,
        retryDelays: [0, 1000, 3000],
        headers: { authorization: `Bearer ${job.token}` },
        metadata: { request: job.id, box: this.ctx.cfg.box.id, camera: job.camera, part, filename: path.basename(file) },
        storeFingerprintForResuming: false,
        onUploadUrlAvailable: () => {
          job.urls[part] = up.url ?? undefined;
          this.save(job);
        },
        onError: (err) => {
          this.running.delete(`${job.id}:${part}`);
          reject(err);
        },
        onSuccess: () => {
          this.running.delete(`${job.id}:${part}`);
          resolve();
        },
      });
      this.running.set(`${job.id}:${part}`, up);
      up.start();
    });
  }
}
