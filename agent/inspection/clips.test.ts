import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipIntake, type ClipResult } from '../central/clips.js';
import { CentralReceiver } from '../central/receiver.js';
import { runFfprobe } from '../ffmpeg/run.js';
import { Recorder } from '../recorder/recorder.js';
import { makeContext } from '../recorder/testkit.js';
import { RtspServer } from '../sim/rtsp/server.js';
import { RecordingRepo } from '../store/recordings.js';
import { Outbox } from '../store/outbox.js';
import { SyncClient } from '../sync/client.js';
import type { ReplyMsg } from '../sync/contract.js';
import { freePort, startAedes, tempDir, waitFor, type AedesBroker } from '../sync/testkit.js';
import { Inspection } from './inspection.js';

let rtsp: RtspServer;
let broker: AedesBroker;
beforeAll(async () => {
  [rtsp, broker] = await Promise.all([new RtspServer({ keyint: 25 }).start(), startAedes()]);
});
afterAll(async () => {
  await Promise.all([rtsp?.stop(), broker?.close()]);
});

describe('playback on request: the box uploads a clip with its manifest, the province checks it against the box’s segment records', () => {
  it('a range across three segments arrives verified and plays; a wrong token is refused; an intake that is down is retried until it is up', async () => {
    const port = await freePort();
    const centralDir = tempDir('clips-central');
    const ctx = makeContext({
      box: { id: 'box-clip' },
      cameras: [{ id: 'cam-1', rtspUrl: rtsp.url }],
      recorder: { schedule: 'always', segmentSeconds: 2 },
      sync: { url: broker.url, reconnectMinMs: 50, reconnectMaxMs: 300 },
      inspection: { uploadUrl: `http://127.0.0.1:${port}/uploads` },
    });
    const replies: ReplyMsg[] = [];
    const receiver = new CentralReceiver({
      url: broker.url,
      prefix: ctx.cfg.sync.topicPrefix,
      db: path.join(centralDir, 'central.db'),
      group: '',
      host: 'prov',
      clipSecret: 'province-secret',
      onReply: (_b, r) => replies.push(r),
    });
    const clips: ClipResult[] = [];
    const intake = new ClipIntake({ dir: centralDir, secret: 'province-secret', store: () => receiver.store, port, onClip: (c) => clips.push(c) });
    const sync = new SyncClient(ctx);
    const rec = new Recorder(ctx);
    const ins = new Inspection(ctx);
    try {
      await receiver.start();
      await sync.start();
      await ins.start();
      await rec.start();
      const repo = new RecordingRepo(ctx.store);
      await waitFor(() => repo.segments('cam-1').length >= 4, 40_000, '4 segments', 200);
      // the province has the segment records (its copy of the box's evidence)
      await waitFor(() => new Outbox(ctx.store).backlog().count === 0, 20_000, 'segments uploaded');
      const segs = repo.segments('cam-1');
      const from = segs[0]!.start_ms + 500;
      const to = segs[2]!.end_ms - 500;
      // the intake is down when the request comes: the box keeps the job and retries
      const id = receiver.requestClip('box-clip', 'cam-1', from, to);
      const states = () => replies.filter((r) => r.id === id).map((r) => r.state);
      await waitFor(() => states().includes('uploading'), 20_000, 'uploading');
      await new Promise((r) => setTimeout(r, 1500));
      expect(fs.existsSync(path.join(ctx.paths.state, 'outgoing', `${id}.job.json`))).toBe(true);
      await intake.start();
      await waitFor(() => states().includes('uploaded'), 60_000, 'uploaded');
      await waitFor(() => clips.length === 1, 10_000, 'clip checked');
      expect(clips[0]!.problems).toEqual([]);
      expect(clips[0]!.verified).toBe(true);
      expect(clips[0]!.manifest.sources.length).toBe(3);
      // the intake's port never shows a clip (the supervisor view does, behind its login)
      const open = await fetch(`http://127.0.0.1:${port}/clips/${id}.mp4`);
      expect(open.status).toBe(404);
      expect(Buffer.from(await open.arrayBuffer()).length).toBeLessThan(200);
      // the verified clip plays
      const got = clips[0]!.file;
      const dur = Number((await runFfprobe(['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', got])).trim());
      expect(dur).toBeGreaterThan((to - from) / 1000 - 2.5);
      // the box cleaned its outgoing folder
      expect(fs.readdirSync(path.join(ctx.paths.state, 'outgoing'))).toEqual([]);
      // a forged token gets nothing in
      const forged = await fetch(`http://127.0.0.1:${port}/uploads`, {
        method: 'POST',
        headers: {
          'tus-resumable': '1.0.0',
          'upload-length': '10',
          authorization: `Bearer ${'0'.repeat(64)}`,
          'upload-metadata': `request ${Buffer.from(id).toString('base64')},box ${Buffer.from('box-clip').toString('base64')},part ${Buffer.from('clip').toString('base64')}`,
        },
      });
      expect(forged.status).toBe(401);
      // refusals name what to change
      const bad = receiver.requestClip('box-clip', 'cam-1', to, from);
      await waitFor(() => replies.some((r) => r.id === bad && r.state === 'refused'), 10_000, 'refused');
    } finally {
      await rec.stop();
      await ins.stop();
      await sync.stop();
      await intake.stop();
      await receiver.stop();
      ctx.cleanup();
    }
  }, 180_000);
});
