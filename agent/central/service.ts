import type { Logger } from 'pino';
import { logger } from '../core/log.js';
import { ClipIntake } from './clips.js';
import { PgCentralDb } from './pg.js';
import { CentralReceiver, type ReceiverOptions } from './receiver.js';
import { SupervisorView } from './view.js';
import { ViewDb } from './viewdb.js';

export interface CentralServiceOptions {
  receiver: Omit<ReceiverOptions, 'onReply' | 'clipSecret' | 'db'> & { onReply?: ReceiverOptions['onReply'] };
  /** PostgreSQL URL: the view reads only the database, so any instance serves it */
  db: string;
  /** shared by every instance: clip tokens are made and checked with it */
  clipSecret: string;
  /**
   * where clips are uploaded (tus) and kept; with several instances behind one address this
   * folder must be shared storage (the instance serving a clip may not be the one that took it)
   */
  clipDir: string;
  clipListen?: { host?: string; port?: number };
  view: { hlsBase: string; listen?: { host?: string; port?: number }; maxLiveSeconds?: number };
  log?: Logger;
}

/**
 * One instance of the province's central service: the receiver (MQTT → PostgreSQL), the clip
 * intake (tus uploads of playback clips, verified against the boxes' segment records) and the
 * supervisor's web view. Run several, sharing the database, the subscription group, the clip
 * secret and the clip folder.
 */
export class CentralService {
  readonly receiver: CentralReceiver;
  readonly intake: ClipIntake;
  readonly view: SupervisorView;
  readonly viewDb: ViewDb;
  private pg: PgCentralDb;
  private log: Logger;
  private replies: Promise<void> = Promise.resolve();

  constructor(o: CentralServiceOptions) {
    this.log = o.log ?? logger('central');
    // the view's own pool: its reads never wait behind the receiver's batches
    this.pg = new PgCentralDb(o.db);
    this.viewDb = new ViewDb(this.pg);
    const keep = (what: string) => (err: Error) => this.log.error({ err: err.message }, `${what} not stored`);
    this.receiver = new CentralReceiver({
      ...o.receiver,
      db: o.db,
      clipSecret: o.clipSecret,
      log: this.log,
      onReply: (box, r) => {
        // one at a time, so states the box sent in the same millisecond keep their order
        this.replies = this.replies.then(() => this.viewDb.addReply(box, r, Date.now())).catch(keep('reply'));
        o.receiver.onReply?.(box, r);
      },
    });
    this.intake = new ClipIntake({
      dir: o.clipDir,
      secret: o.clipSecret,
      store: () => this.receiver.store,
      port: o.clipListen?.port,
      host: o.clipListen?.host,
      log: this.log,
      onClip: (c) => void this.viewDb.addClip(c, Date.now()).catch(keep('clip result')),
    });
    this.view = new SupervisorView({ db: this.viewDb, receiver: this.receiver, hlsBase: o.view.hlsBase, listen: o.view.listen, maxLiveSeconds: o.view.maxLiveSeconds, log: this.log });
  }

  async start(): Promise<void> {
    await this.receiver.start();
    await this.viewDb.init();
    await this.intake.start();
    await this.view.start();
  }

  async stop(): Promise<void> {
    await this.view.stop();
    await this.intake.stop();
    await this.receiver.stop();
    await this.replies;
    await this.pg.close();
  }
}
