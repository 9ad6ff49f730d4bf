import path from 'node:path';
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CentralReceiver } from '../central/receiver.js';
import { runFfprobe } from '../ffmpeg/run.js';
import { makeContext } from '../recorder/testkit.js';
import { startAedes, waitFor, type AedesBroker } from '../sync/testkit.js';
import { NginxRtmp } from '../sim/media/nginx.js';
import { RtspServer } from '../sim/rtsp/server.js';
import { InspectionRepo } from '../store/inspections.js';
import { Outbox } from '../store/outbox.js';
import { SyncClient } from '../sync/client.js';
import type { ReplyMsg } from '../sync/contract.js';
import { checkRecordData } from '../sync/schemas.js';
import { Inspection } from './inspection.js';

let rtsp: RtspServer;
let media: NginxRtmp;
let broker: AedesBroker;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  // a 25 fps camera with 1 s GOPs, as a classroom camera set up per docs/recording.md
  [rtsp, media, broker] = await Promise.all([new RtspServer({ keyint: 25 }).start(), new NginxRtmp().start(), startAedes()]);
});
afterAll(async () => {
  await Promise.all([rtsp?.stop(), media?.stop(), broker?.close()]);
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function box(inspection: Record<string, unknown> = {}) {
  const ctx = makeContext({
    box: { id: 'box-live' },
    cameras: [{ id: 'cam-1', rtspUrl: rtsp.url }],
    sync: { url: broker.url, reconnectMinMs: 50, reconnectMaxMs: 300 },
    inspection: { pushUrl: media.ingest, ...inspection },
  });
  cleanups.push(() => ctx.cleanup());
  const replies: ReplyMsg[] = [];
  const central = new CentralReceiver({
    url: broker.url,
    prefix: ctx.cfg.sync.topicPrefix,
    db: path.join(ctx.paths.state, 'central.db'),
    group: '',
    host: 'prov',
    onReply: (_b, r) => replies.push(r),
  });
  await central.start();
  cleanups.push(() => central.stop());
  const sync = new SyncClient(ctx);
  const ins = new Inspection(ctx);
  await sync.start();
  await ins.start();
  cleanups.push(() => sync.stop());
  cleanups.push(() => ins.stop());
  await waitFor(() => sync.isConnected, 10_000, 'box connected');
  // the box subscribes to its cmd topic right after connecting
  await new Promise((r) => setTimeout(r, 300));
  const states = (id: string) => replies.filter((r) => r.id === id).map((r) => r.state);
  return { ctx, central, ins, replies, states };
}

describe('remote live inspection through a real media server (nginx RTMP → HLS)', () => {
  it('the province asks, the box pushes the camera stream-copied, the HLS plays within seconds; stopping ends it; every step is evidence', async () => {
    const { ctx, central, ins, states, replies } = await box();
    const key = `insp-${Date.now()}`;
    const t0 = Date.now();
    const id = central.requestLive('box-live', 'cam-1', key, 120);
    await waitFor(() => states(id).includes('pushing'), 15_000, 'pushing');
    // playable: the playlist lists a segment and ffprobe reads H.264 video from it
    await waitFor(() => fs.existsSync(path.join(media.dir, 'hls', `${key}.m3u8`)) && /\.ts/.test(fs.readFileSync(path.join(media.dir, 'hls', `${key}.m3u8`), 'utf8')), 15_000, 'HLS playlist');
    const playable = Date.now() - t0;
    const probe = JSON.parse(await runFfprobe(['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', media.playlist(key)])) as {
      streams: Array<{ codec_name: string; width: number }>;
    };
    expect(probe.streams[0]!.codec_name).toBe('h264');
    console.log(`live inspection: request → HLS playable in ${playable} ms (target ≤ 5000 ms)`);
    expect(ins.active()).toHaveLength(1);
    central.stopLive('box-live', id);
    await waitFor(() => states(id).includes('ended'), 10_000, 'ended');
    expect(ins.active()).toHaveLength(0);
    const ev = new InspectionRepo(ctx.store).events(id).map((e) => e.state);
    expect(ev).toEqual(['requested', 'pushing', 'ended']);
    expect(replies.find((r) => r.id === id && r.state === 'ended')!.message).toMatch(/stopped by the province/);
    // each step goes to the province, valid against its schema; the stream key is not kept
    const ob = new Outbox(ctx.store);
    const recs = ob.range(1, ob.maxSeq(), 1000).filter((r) => r.type === 'inspection');
    expect(recs.map((r) => (r.data as { state: string }).state)).toEqual(['requested', 'pushing', 'ended']);
    for (const r of recs) expect(checkRecordData('inspection', r.data)).toEqual([]);
    const dump = fs.readFileSync(ctx.paths.database).toString('latin1') + (fs.existsSync(`${ctx.paths.database}-wal`) ? fs.readFileSync(`${ctx.paths.database}-wal`).toString('latin1') : '');
    expect(dump.includes(key)).toBe(false);
  });

  it('ends by itself at the time asked for, and ffmpeg is gone', async () => {
    const { central, ins, states, replies } = await box();
    const id = central.requestLive('box-live', 'cam-1', `short-${Date.now()}`, 3);
    await waitFor(() => states(id).includes('ended'), 20_000, 'ended by time');
    expect(replies.find((r) => r.id === id && r.state === 'ended')!.message).toMatch(/time limit/);
    expect(ins.active()).toHaveLength(0);
  });

  it('refuses what it must: an unknown camera, more pushes than allowed, a box without an ingest address; and stops a push over the bandwidth budget', async () => {
    const { central, states, replies } = await box({ maxConcurrent: 1, maxKbps: 1 });
    const unknown = central.requestLive('box-live', 'cam-9', 'k1');
    await waitFor(() => states(unknown).includes('refused'), 10_000, 'refused');
    expect(replies.find((r) => r.id === unknown)!.message).toMatch(/no enabled camera cam-9/);
    const first = central.requestLive('box-live', 'cam-1', `bw-${Date.now()}`);
    await waitFor(() => states(first).includes('requested'), 10_000, 'first requested');
    const second = central.requestLive('box-live', 'cam-1', `bw2-${Date.now()}`);
    await waitFor(() => states(second).includes('refused'), 10_000, 'second refused');
    expect(replies.find((r) => r.id === second && r.state === 'refused')!.message).toMatch(/maxConcurrent/);
    // 1 kbit/s budget: the push is stopped once the count has seen it over for a few reports
    await waitFor(() => states(first).includes('ended'), 20_000, 'stopped for bandwidth');
    expect(replies.find((r) => r.id === first && r.state === 'ended')!.message).toMatch(/maxKbps/);
  });

  it('a box without inspection.pushUrl refuses and says which key to set', async () => {
    const { central, states, replies } = await box({ pushUrl: undefined });
    const id = central.requestLive('box-live', 'cam-1', 'k');
    await waitFor(() => states(id).includes('refused'), 10_000, 'refused');
    expect(replies.find((r) => r.id === id)!.message).toMatch(/inspection\.pushUrl/);
  });
});
