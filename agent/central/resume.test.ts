import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Inspection } from '../inspection/inspection.js';
import { makeContext } from '../recorder/testkit.js';
import { Outbox } from '../store/outbox.js';
import { SyncClient } from '../sync/client.js';
import { startAedes, tempDir, waitFor, type AedesBroker } from '../sync/testkit.js';
import { ClipIntake, type ClipResult } from './clips.js';
import { CentralReceiver } from './receiver.js';
import { seedSegments } from './testkit.js';

/**
 * A school line that breaks in the middle of a playback upload: a TCP relay between the box and
 * the province's tus intake cuts the connection once, after part of the clip's bytes went
 * through. The box must ask where the upload stands (tus HEAD) and send the rest from that
 * offset (PATCH with Upload-Offset > 0), not start again; the clip must then verify.
 */
class CuttingRelay {
  private server = net.createServer((c) => this.relay(c));
  /** request lines and Upload-Offset headers the box sent, in order */
  readonly requests: string[] = [];
  cutAtBody = -1;
  private cut = false;
  port = 0;

  constructor(
    private target: number,
    private cutAfter: number,
  ) {}

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  private relay(client: net.Socket): void {
    const up = net.connect(this.target, '127.0.0.1');
    // bytes of the current PATCH's body seen so far on this connection (-1: not in a PATCH)
    let patchBytes = -1;
    client.on('data', (b: Buffer) => {
      // request heads are ASCII; the clip's bytes do not contain "PATCH /uploads/…HTTP/1.1" by chance
      const text = b.toString('latin1');
      let head = false;
      for (const m of text.matchAll(/^(PATCH|HEAD|POST) (\/uploads\S*) HTTP\/1\.1\r\n(?:[^\r\n]*\r\n)*?\r\n/gim)) {
        const off = /upload-offset: *(\d+)/i.exec(m[0]);
        this.requests.push(`${m[1]} ${off ? off[1] : ''}`.trim());
        head = true;
        patchBytes = m[1] === 'PATCH' ? text.length - (m.index + m[0].length) : -1;
      }
      if (!head && patchBytes >= 0) patchBytes += b.length;
      if (!this.cut && patchBytes > this.cutAfter) {
        this.cut = true;
        this.cutAtBody = patchBytes;
        this.requests.push('CUT');
        client.destroy();
        up.destroy();
        return;
      }
      up.write(b);
    });
    up.on('data', (b) => client.write(b));
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
    up.on('close', () => client.destroy());
    client.on('close', () => up.destroy());
  }
}

describe('playback upload cut mid-way and resumed from the offset', () => {
  let broker: AedesBroker;
  beforeAll(async () => {
    broker = await startAedes();
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('a 3-minute clip: the line breaks after 600 kB of it, the box resumes from the offset the province holds, the clip verifies', async () => {
    const centralDir = tempDir('resume-central');
    const results: ClipResult[] = [];
    const receiver = new CentralReceiver({ url: broker.url, prefix: 'classroom/v1', db: path.join(centralDir, 'central.db'), group: '', host: 'prov', clipSecret: 'resume-secret' });
    await receiver.start();
    const intake = new ClipIntake({ dir: centralDir, secret: 'resume-secret', store: () => receiver.store, onClip: (c) => results.push(c) });
    await intake.start();
    const relay = await new CuttingRelay(intake.port, 600_000).start();
    const ctx = makeContext({
      box: { id: 'box-resume' },
      cameras: [{ id: 'cam-1', rtspUrl: 'rtsp://127.0.0.1:9/none' }],
      sync: { url: broker.url, reconnectMinMs: 50, reconnectMaxMs: 300 },
      inspection: { uploadUrl: `http://127.0.0.1:${relay.port}/uploads` },
    });
    const sync = new SyncClient(ctx);
    const ins = new Inspection(ctx);
    try {
      const seeded = await seedSegments(ctx, 'cam-1', { count: 6, seconds: 30 });
      await sync.start();
      await ins.start();
      await waitFor(() => sync.isConnected && new Outbox(ctx.store).backlog().count === 0, 30_000, 'segment records delivered');
      await new Promise((r) => setTimeout(r, 300)); // the box subscribes to its cmd topic right after connecting
      const id = receiver.requestClip('box-resume', 'cam-1', seeded.end - 180_000, seeded.end);
      await waitFor(() => results.length === 1, 120_000, `clip verified (relay saw: ${relay.requests.join(', ')})`, 100);
      expect(results[0]!.request).toBe(id);
      expect(results[0]!.problems).toEqual([]);
      expect(results[0]!.verified).toBe(true);
      expect(results[0]!.manifest.clip.bytes).toBeGreaterThan(600_000);
      // after the cut: a HEAD for the offset, then a PATCH from a non-zero offset (not a new POST)
      const after = relay.requests.slice(relay.requests.indexOf('CUT') + 1);
      expect(relay.requests).toContain('CUT');
      expect(after[0]).toBe('HEAD');
      const resumed = after.find((r) => r.startsWith('PATCH'));
      const offset = Number(resumed?.split(' ')[1]);
      console.log(`playback resume: cut after ${relay.cutAtBody} bytes of the clip's PATCH, resumed at offset ${offset} of ${results[0]!.manifest.clip.bytes}; requests: ${relay.requests.join(', ')}`);
      expect(offset).toBeGreaterThan(0);
      expect(offset).toBeLessThan(results[0]!.manifest.clip.bytes);
      expect(after.filter((r) => r.startsWith('POST'))).toEqual([]);
    } finally {
      await ins.stop();
      await sync.stop();
      await relay.stop();
      await intake.stop();
      await receiver.stop();
      ctx.cleanup();
    }
  }, 180_000);
});
