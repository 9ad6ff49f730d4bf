import path from 'node:path';
import type { Command } from 'commander';
import { PgCentralDb } from '../../central/pg.js';
import { CentralReceiver } from '../../central/receiver.js';
import { CentralService } from '../../central/service.js';
import { isPostgresUrl } from '../../central/store.js';
import { ViewDb } from '../../central/viewdb.js';
import { statePaths } from '../../config/load.js';
import { loadProfile } from '../../config/profile.js';
import { EventBus } from '../../core/bus.js';
import type { AgentEvents } from '../../core/events.js';
import { InputError } from '../../core/errors.js';
import { initLogging, maskUrl } from '../../core/log.js';
import { formatLocal } from '../../core/time.js';
import { Outbox } from '../../store/outbox.js';
import { SyncMeta } from '../../store/syncmeta.js';
import { SyncClient, type SyncState } from '../../sync/client.js';
import { mqttOptions } from '../../sync/connect.js';
import { intArg } from '../options.js';
import { action, configOf, globals, langOf, openStore } from '../context.js';
import { t } from '../i18n.js';
import { checkName, newHash } from './users.js';

/** the daemon writes its sync state every 2 s; older than this, it is not running */
const STALE_MS = 15_000;

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => resolve(s));
  });
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 360) / 10} h`;
  return `${Math.round(s / 8640) / 10} d`;
}

export function register(program: Command): void {
  const sync = program.command('sync').description('与省平台同步（MQTT 存储转发）/ store-and-forward to the provincial system over MQTT');

  sync
    .command('status')
    .description('同步状态：连接、积压、最早未确认、最近确认、吞吐 / connection, backlog, oldest unacked, last ack, throughput')
    .option('--json', 'JSON')
    .action(
      action((opts: { json?: boolean }, cmd: Command) => {
        const lang = langOf(cmd);
        const cfg = configOf(cmd);
        const store = openStore(cfg, { readonly: true });
        try {
          const now = Date.now();
          const ob = new Outbox(store);
          const b = ob.backlog();
          const st = new SyncMeta(store).get<SyncState>('state')?.value;
          const running = !!st && now - st.heartbeatMs < STALE_MS;
          const out = {
            box: cfg.box.id,
            url: maskUrl(cfg.sync.url),
            daemonRunning: running,
            connected: running && !!st?.connected,
            backlog: b.count,
            backlogBytes: ob.backlogBytes(),
            oldestUnackedAgeMs: b.oldestMs === null ? null : now - b.oldestMs,
            lastAckMs: st?.lastAckMs ?? null,
            throughputPerSecond: running ? (st?.throughput ?? 0) : 0,
            session: st?.session ?? null,
            maxSeq: ob.maxSeq(),
            reconnects: st?.reconnects ?? 0,
            resends: st?.resends ?? 0,
            /** v1.1: the province's receiving hosts (unknown: a 1.0 receiver that announces nothing) */
            central: st?.central ?? 'unknown',
            centralSinceMs: st?.centralSince ?? null,
          };
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
          } else {
            const tz = cfg.box.timezone;
            const yes = t(lang, '是', 'yes');
            const no = t(lang, '否', 'no');
            const lines = [
              `${t(lang, '盒子', 'Box')}: ${out.box}  (${out.url})`,
              `${t(lang, '守护进程运行中', 'Daemon running')}: ${running ? yes : t(lang, '否（以下为最后已知状态）', 'no (last known state below)')}`,
              `${t(lang, '已连接', 'Connected')}: ${out.connected ? yes : no}`,
              `${t(lang, '省平台接收端', 'Provincial receiver')}: ${out.central === 'online' ? t(lang, '在线', 'online') : out.central === 'offline' ? t(lang, '离线（暂停发送，记录保存在本机）', 'offline (sending paused, records kept on the box)') : t(lang, '未知（接收端未声明状态）', 'unknown (the receiver announces no state)')}`,
              `${t(lang, '积压（未确认记录）', 'Backlog (unacknowledged records)')}: ${out.backlog}`,
              `${t(lang, '最早未确认', 'Oldest unacknowledged')}: ${out.oldestUnackedAgeMs === null ? '-' : t(lang, `${duration(out.oldestUnackedAgeMs)}前`, `${duration(out.oldestUnackedAgeMs)} ago`)}`,
              `${t(lang, '最近确认', 'Last ack')}: ${out.lastAckMs === null ? t(lang, '从未', 'never') : formatLocal(out.lastAckMs, tz)}`,
              `${t(lang, '吞吐（条/秒，近一分钟）', 'Throughput (records/s, last minute)')}: ${out.throughputPerSecond}`,
            ];
            if (out.backlog > 0 && !out.connected) {
              lines.push(
                t(
                  lang,
                  '提示：记录已安全保存在本机，连接恢复后会自动补传。请检查网络和 sync.url。',
                  'Note: the records are safe on this box and are sent when the connection returns. Check the network and sync.url.',
                ),
              );
            }
            process.stdout.write(`${lines.join('\n')}\n`);
          }
        } finally {
          store.close();
        }
      }),
    );

  sync
    .command('resend')
    .description('从指定序号起全部重发（含已确认）/ resend every record from a sequence number (acknowledged ones too)')
    .requiredOption('--from <seq>', '起始序号 / first sequence number', intArg(1))
    .action(
      action((opts: { from: number }, cmd: Command) => {
        const lang = langOf(cmd);
        const from = opts.from;
        const store = openStore(configOf(cmd));
        try {
          const meta = new SyncMeta(store);
          meta.set('resendRequest', { from });
          const st = meta.get<SyncState>('state')?.value;
          const running = !!st && Date.now() - st.heartbeatMs < STALE_MS;
          const max = new Outbox(store).maxSeq();
          process.stdout.write(
            running
              ? t(
                  lang,
                  `已请求从序号 ${from} 起重发（当前最大序号 ${max}），守护进程将在 1 秒内执行。\n`,
                  `Resend from seq ${from} requested (highest seq ${max}); the daemon picks it up within a second.\n`,
                )
              : t(lang, `已记录从序号 ${from} 起重发的请求；守护进程未运行，启动后执行。\n`, `Resend from seq ${from} recorded; the daemon is not running and will do it when it starts.\n`),
          );
        } finally {
          store.close();
        }
      }),
    );

  sync
    .command('run')
    .description('只运行同步模块（清空积压后仍保持运行，直到 Ctrl-C）/ run only the sync module until stopped')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const cfg = configOf(cmd);
        const store = openStore(cfg);
        const client = new SyncClient({
          cfg,
          profile: loadProfile(cfg.profile),
          store,
          bus: new EventBus<AgentEvents>(),
          // the root logger: the module adds its own namespace (ca:sync)
          log: initLogging({ level: globals(cmd).logLevel ?? process.env.LOG_LEVEL ?? 'info', fd: 2 }),
          now: Date.now,
          paths: statePaths(cfg),
        });
        await client.start();
        await untilSignal();
        await client.stop();
        store.close();
      }),
    );

  program
    .command('central')
    .description('参考省平台接收端：校验、去重、入库后确认、补洞 / reference provincial receiver: validate, dedup, ack after commit, ask for gaps')
    .option('--url <url>', 'MQTT 地址（默认取 sync.url）/ broker URL (default sync.url)')
    .option('--prefix <prefix>', '主题前缀（默认取 sync.topicPrefix）/ topic prefix (default sync.topicPrefix)')
    .option('--db <file>', '接收端数据库（默认 <state>/central.db）/ receiver database (default <state>/central.db)')
    .option('--group <name>', '共享订阅组，空串表示不共享 / shared-subscription group, "" for none', 'central')
    .option('--client-id <id>', 'MQTT 客户端 ID / MQTT client id')
    .option('--reorder-timeout <ms>', '序号空洞等待多久后要求重发 / how long a sequence hole may last before a resend request', intArg(0, 3_600_000), 5000)
    .option('--consumers <n>', '本实例在共享组中的连接数（PostgreSQL 默认 4）/ connections of this instance in the shared group (default 4 with PostgreSQL)', intArg(1, 64))
    .option('--view-port <port>', '监管网页端口（需 PostgreSQL 数据库与 CENTRAL_CLIP_SECRET）/ supervisor web view port (needs a PostgreSQL --db and CENTRAL_CLIP_SECRET)', intArg(0, 65535))
    .option('--view-host <host>', '监管网页监听地址 / supervisor web view address', '127.0.0.1')
    .option('--hls-base <url>', "媒体服务器 HLS 地址（浏览器可达），如 http://media/hls / the media server's HLS base as browsers reach it")
    .option('--clip-dir <dir>', '回放视频上传目录（多实例须共享）/ playback upload folder (shared by all instances)')
    .option('--clip-port <port>', '回放上传（tus）端口 / playback upload (tus) port', intArg(0, 65535), 0)
    .action(
      action(
        async (
          opts: {
            url?: string;
            prefix?: string;
            db?: string;
            group: string;
            clientId?: string;
            reorderTimeout: number;
            consumers?: number;
            viewPort?: number;
            viewHost: string;
            hlsBase?: string;
            clipDir?: string;
            clipPort: number;
          },
          cmd: Command,
        ) => {
          const lang = langOf(cmd);
          const cfg = configOf(cmd);
          const url = opts.url ?? cfg.sync.url;
          const reorder = opts.reorderTimeout;
          // the receiver authenticates like a box would: TLS and credentials from the sync section
          const base = mqttOptions(cfg.sync, opts.clientId ?? `central-${process.pid}`);
          const db = opts.db ?? path.join(statePaths(cfg).state, 'central.db');
          const receiverOpts = {
            url,
            prefix: opts.prefix ?? cfg.sync.topicPrefix,
            group: opts.group,
            clientId: base.clientId,
            reorderTimeoutMs: reorder,
            consumers: opts.consumers,
            mqtt: { ca: base.ca, cert: base.cert, key: base.key, rejectUnauthorized: base.rejectUnauthorized, username: base.username, password: base.password },
          };
          if (opts.viewPort !== undefined) {
            const service = new CentralService({
              receiver: receiverOpts,
              db: viewDbUrl(db),
              clipSecret: clipSecret(),
              clipDir: opts.clipDir ?? path.join(statePaths(cfg).state, 'central-clips'),
              clipListen: { host: opts.viewHost, port: opts.clipPort },
              view: { hlsBase: hlsBase(opts.hlsBase), listen: { host: opts.viewHost, port: opts.viewPort } },
            });
            await service.start();
            process.stderr.write(
              t(
                lang,
                `接收端已启动：${maskUrl(url)}；监管网页 http://${opts.viewHost}:${service.view.port}/；回放上传 ${service.intake.url}\n`,
                `Receiver running: ${maskUrl(url)}; supervisor view http://${opts.viewHost}:${service.view.port}/; playback uploads ${service.intake.url}\n`,
              ),
            );
            await untilSignal();
            await service.stop();
            return;
          }
          const receiver = new CentralReceiver({ ...receiverOpts, db });
          await receiver.start();
          process.stderr.write(t(lang, `接收端已启动：${maskUrl(url)}，数据库 ${db}\n`, `Receiver running: ${maskUrl(url)}, database ${db}\n`));
          await untilSignal();
          await receiver.stop();
        },
      ),
    );

  program
    .command('supervisor')
    .description(
      '添加监管人员或更改其密码（省平台监管网页）；密码从标准输入或 CLASSROOM_AGENT_PASSWORD 读取 / add a supervisor of the central web view or change the password; read from stdin or CLASSROOM_AGENT_PASSWORD',
    )
    .argument('<name>', '用户名 / user name')
    .requiredOption('--db <url>', "省平台 PostgreSQL 地址 / the central's PostgreSQL URL")
    .action(
      action(async (name: string, opts: { db: string }, cmd: Command) => {
        const lang = langOf(cmd);
        checkName(name);
        const hash = await newHash();
        const pg = new PgCentralDb(viewDbUrl(opts.db));
        try {
          await new ViewDb(pg).setSupervisor(name, hash, Date.now());
        } finally {
          await pg.close();
        }
        // a changed password ends the supervisor's sessions (they carry the time it was set)
        process.stdout.write(t(lang, `监管人员 ${name} 已保存\n`, `Supervisor ${name} saved\n`));
      }),
    );
}

/** The supervisor view reads PostgreSQL only (every instance serves it). */
function viewDbUrl(db: string): string {
  if (isPostgresUrl(db)) return db;
  throw new InputError('central', [{ path: '--db', message: 'the supervisor view needs a postgres:// database URL / 监管网页需要 PostgreSQL 数据库（postgres:// 地址）' }]);
}

function clipSecret(): string {
  const s = process.env.CENTRAL_CLIP_SECRET ?? '';
  // never an argument: ps and the shell history would show it
  if (s.length < 16)
    throw new InputError('central', [{ path: 'CENTRAL_CLIP_SECRET', message: 'set it (16+ characters, the same on every instance) / 请设置该环境变量（至少 16 个字符，各实例相同）' }]);
  return s;
}

function hlsBase(u: string | undefined): string {
  if (u && /^https?:\/\/[^/]+/.test(u)) return u;
  throw new InputError('central', [{ path: '--hls-base', message: "the media server's HLS base URL, e.g. http://media.example/hls / 请给出媒体服务器的 HLS 地址，如 http://media.example/hls" }]);
}
