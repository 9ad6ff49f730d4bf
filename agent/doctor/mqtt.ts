import { maskUrl } from '../core/log.js';
import { Outbox } from '../store/outbox.js';
import { SyncMeta } from '../store/syncmeta.js';
import type { SyncState } from '../sync/client.js';
import { probeBroker, type BrokerFailure } from '../sync/probe.js';
import { needsConfig, readStore, type Bilingual, type Check, type CheckStatus } from './check.js';

/** Records waiting longer than this for central's ack mean uploads are stuck. */
export const BACKLOG_WARN_MS = 3600_000;

const age = (ms: number) =>
  ms < 120_000 ? `${Math.round(ms / 1000)} s` : ms < 2 * 3600_000 ? `${Math.round(ms / 60_000)} min` : ms < 48 * 3600_000 ? `${(ms / 3600_000).toFixed(1)} h` : `${Math.round(ms / 86_400_000)} days`;

function failureFix(f: BrokerFailure, host: string): Bilingual {
  switch (f) {
    case 'dns':
      return {
        zh: `域名 ${host} 无法解析：检查 /etc/resolv.conf 的 DNS 服务器，或在 sync.url 中改用 IP 地址`,
        en: `${host} does not resolve: check the DNS servers in /etc/resolv.conf, or use an IP address in sync.url`,
      };
    case 'refused':
      return {
        zh: `${host} 拒绝连接：核对 sync.url 的端口（TLS 通常 8883，明文 1883），确认省平台的 broker 正在运行`,
        en: `${host} refused the connection: check the port in sync.url (8883 for TLS, 1883 plain) and that the provincial broker is running`,
      };
    case 'tls':
      return {
        zh: 'TLS 证书验证失败：确认 sync.tls.ca 是省平台提供的 CA 证书、sync.url 的主机名与服务器证书一致、证书未过期，并检查本机时钟',
        en: "TLS verification failed: check that sync.tls.ca is the provincial CA, that the host name in sync.url matches the server certificate, that it has not expired, and the box's clock",
      };
    case 'auth':
      return {
        zh: 'broker 拒绝登录：核对 sync.username / sync.password，或 sync.tls.cert / key 是否为本盒子的证书（CN 应为 box.id），并请省平台确认 ACL',
        en: "the broker refused the login: check sync.username / sync.password, or that sync.tls.cert / key are this box's certificate (CN = box.id), and ask the provincial side to check the ACL",
      };
    case 'timeout':
    case 'unreachable':
      return {
        zh: `${host} 无应答：检查网络和防火墙（出站端口是否放行），并核对 sync.url 的主机和端口确实是 MQTT broker（TLS 用 mqtts://）`,
        en: `${host} does not answer: check the network and firewall (outbound port allowed), and that the host and port in sync.url really are the MQTT broker (mqtts:// for TLS)`,
      };
    case 'subscribe':
      return {
        zh: 'broker 的 ACL 不允许本盒子读写自己的主题：请省平台加上 pattern readwrite <prefix>/%u/#',
        en: "the broker's ACL does not let the box use its own topics: ask the provincial side for pattern readwrite <prefix>/%u/#",
      };
    case 'config':
      return { zh: '修正配置中的 sync.tls 文件路径（见上）', en: 'fix the sync.tls file paths in the config (see above)' };
    default:
      return { zh: `无法与 ${host} 通信：检查网络（ping、防火墙出站端口）和 sync.url`, en: `cannot talk to ${host}: check the network (ping, outbound firewall port) and sync.url` };
  }
}

function localState(file: string): Promise<{ count: number; oldestMs: number | null; lastAckMs: number | null } | undefined> {
  return readStore(file, (s) => {
    const b = new Outbox(s).backlog();
    let lastAckMs: number | null = null;
    try {
      lastAckMs = new SyncMeta(s).get<SyncState>('state')?.value.lastAckMs ?? null;
    } catch {
      // sync_meta appears with the sync migration; an older store simply has no ack yet
    }
    return { ...b, lastAckMs };
  });
}

export const mqttCheck: Check = {
  id: 'mqtt',
  title: { zh: '上传（MQTT）', en: 'upload (MQTT)' },
  async run(env) {
    const skip = needsConfig(env);
    if (skip) return skip;
    const cfg = env.cfg!;
    if (!cfg.sync.enabled) return { status: 'ok', detail: 'sync disabled in the config (nothing is uploaded)' };
    let host = cfg.sync.url;
    try {
      host = new URL(cfg.sync.url).host;
    } catch {
      /* shown as is */
    }
    const local = await localState(env.paths!.database);
    const backlog = !local
      ? 'no store yet'
      : `backlog ${local.count}${local.oldestMs !== null ? `, oldest unacked ${age(env.now - local.oldestMs)}` : ''}, last ack ${local.lastAckMs === null ? 'never' : `${age(env.now - local.lastAckMs)} ago`}`;
    const p = await probeBroker(cfg);
    if (!p.ok) {
      return { status: 'fail', detail: `${maskUrl(cfg.sync.url)}: ${p.failure}: ${p.message}; ${backlog}`, fix: failureFix(p.failure ?? 'other', host) };
    }
    const detail = `${maskUrl(cfg.sync.url)}: connected in ${p.connectMs} ms, round trip on own reply topic ${p.roundTripMs} ms; ${backlog}`;
    let status: CheckStatus = 'ok';
    if (local?.oldestMs != null && env.now - local.oldestMs > BACKLOG_WARN_MS) status = 'warn';
    if (cfg.sync.tls?.rejectUnauthorized === false) {
      // connected, but to whoever answered: anyone on the path can pose as the provincial broker
      return {
        status: 'warn',
        detail: `${detail}; sync.tls.rejectUnauthorized is false: the broker's certificate is not verified`,
        fix: {
          zh: '删除 sync.tls.rejectUnauthorized: false，并把省平台的 CA 证书写入 sync.tls.ca；否则任何途经网络的人都能冒充省平台、读取上报数据和密码',
          en: 'remove sync.tls.rejectUnauthorized: false and put the provincial CA certificate in sync.tls.ca; otherwise anyone on the path can pose as the provincial broker and read the uploads and the password',
        },
      };
    }
    if (status === 'ok') return { status, detail };
    return {
      status,
      detail,
      fix: {
        zh: 'broker 可连通但记录迟迟未被确认：确认守护进程正在运行（systemctl status classroom-agent），查看 classroom-agent sync status，并请省平台确认接收端在线、已订阅本盒子的 events 主题',
        en: "the broker answers but records stay unacked: check that the daemon runs (systemctl status classroom-agent), look at classroom-agent sync status, and ask the provincial side whether its receiver is up and subscribed to this box's events",
      },
    };
  },
};
