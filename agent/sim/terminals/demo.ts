import { formatIso } from '../../core/time.js';
import { WebhookClient } from './webhook.js';
import { ZkDevice } from './zkteco.js';

export interface TerminalDemoOptions {
  /** the check-in server, e.g. http://127.0.0.1:8090 */
  base: string;
  /** ZKTeco serial configured in terminals[].serial */
  zkSerial?: string;
  /** webhook token (checkin.token) */
  token?: string;
  /** terminal person ids to punch (the roster's terminalIds) */
  people: string[];
  everyMs?: number;
  tz?: string;
}

/**
 * For the demo: a ZKTeco terminal and a webhook caller punching the given people one after the
 * other against a running check-in server, the way a morning queue at the door does. Returns stop().
 */
export function runTerminalDemo(o: TerminalDemoOptions): { stop(): void; sent(): number } {
  const zk = o.zkSerial ? new ZkDevice(o.base, o.zkSerial) : undefined;
  const wh = o.token ? new WebhookClient(o.base, { token: o.token }, 'demo') : undefined;
  let i = 0;
  let sent = 0;
  let busy = false;
  const tick = async () => {
    if (busy || !o.people.length) return;
    busy = true;
    try {
      const person = o.people[i % o.people.length];
      const now = Date.now();
      if (zk && (i % 2 === 0 || !wh)) {
        if (i < 2) await zk.handshake();
        zk.punch(
          person,
          formatIso(now, o.tz ?? 'Asia/Shanghai')
            .slice(0, 19)
            .replace('T', ' '),
        );
        sent += (await zk.sync()).acked;
        await zk.poll();
      } else if (wh) {
        const r = await wh.send({ id: `demo-${now}-${i}`, terminal: 'webhook-demo', person, at: new Date(now).toISOString(), verifyMode: 'face', similarity: 90 + (i % 10) });
        if (r.status === 200) sent++;
      }
      i++;
    } catch {
      /* the agent is down: the ZKTeco device keeps its punches and resends later */
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), o.everyMs ?? 3000);
  return {
    stop() {
      clearInterval(timer);
      zk?.close();
      wh?.close();
    },
    sent: () => sent,
  };
}
