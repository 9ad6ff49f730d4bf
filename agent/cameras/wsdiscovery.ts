import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import os from 'node:os';

/**
 * WS-Discovery Probe (ONVIF NetworkVideoTransmitter). Our own small client rather than the
 * `onvif` package's Discovery: that one is a process-wide singleton bound to one interface, and
 * we probe every interface at once (onvif#330), three times each, because UDP gets lost.
 */
export interface ProbeMatch {
  urn: string;
  xaddrs: string[];
  scopes: string[];
  /** the address the answer came from (XAddrs may carry the camera's own idea of its address) */
  from: string;
  iface?: string;
}

export function probeMessage(messageId: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" ' +
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" ' +
    'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>' +
    `<a:MessageID>urn:uuid:${messageId}</a:MessageID><a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>` +
    '<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action></s:Header>' +
    '<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>'
  );
}

const tag = (xml: string, name: string) => new RegExp(`<(?:[\\w-]+:)?${name}[^>]*>([^<]*)</(?:[\\w-]+:)?${name}>`).exec(xml)?.[1]?.trim();

export function parseProbeMatch(xml: string, from: string): ProbeMatch | undefined {
  if (!/ProbeMatch/.test(xml)) return undefined;
  const xaddrs = (tag(xml, 'XAddrs') ?? '').split(/\s+/).filter(Boolean);
  const urn = tag(xml, 'Address') ?? xaddrs[0];
  if (!urn || !xaddrs.length) return undefined;
  return { urn, xaddrs, scopes: (tag(xml, 'Scopes') ?? '').split(/\s+/).filter(Boolean), from };
}

/** IPv4 addresses of the interfaces to probe from (non-internal unless includeLoopback). */
export function probeInterfaces(includeLoopback = false): Array<{ name: string; address: string }> {
  const out: Array<{ name: string; address: string }> = [];
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && (includeLoopback || !a.internal)) out.push({ name, address: a.address });
  }
  return out;
}

/**
 * Send Probes to each target (multicast 239.255.255.250:3702 from every interface, and/or
 * unicast host:port), collect ProbeMatches for timeoutMs, deduplicated by endpoint URN.
 */
export async function wsDiscover(opts: { timeoutMs: number; multicast?: boolean; unicast?: Array<{ host: string; port: number }>; interfaces?: Array<{ name: string; address: string }> }): Promise<ProbeMatch[]> {
  const found = new Map<string, ProbeMatch>();
  const sockets: dgram.Socket[] = [];
  const messageId = randomUUID();
  const msg = Buffer.from(probeMessage(messageId));
  const open = (bindAddr: string | undefined, iface?: string) =>
    new Promise<dgram.Socket | undefined>((resolve) => {
      const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
      s.on('error', () => resolve(undefined));
      s.on('message', (m, rinfo) => {
        const pm = parseProbeMatch(m.toString('utf8'), rinfo.address);
        if (pm && !found.has(pm.urn)) found.set(pm.urn, { ...pm, iface });
      });
      s.bind(0, bindAddr, () => {
        sockets.push(s);
        resolve(s);
      });
    });
  const sends: Array<() => void> = [];
  if (opts.multicast) {
    for (const i of opts.interfaces ?? probeInterfaces()) {
      const s = await open(i.address, i.name);
      if (!s) continue;
      try {
        s.setMulticastInterface(i.address);
      } catch {
        /* interface without multicast */
      }
      sends.push(() => s.send(msg, 3702, '239.255.255.250'));
    }
  }
  if (opts.unicast?.length) {
    const s = await open(undefined);
    if (s) for (const t of opts.unicast) sends.push(() => s.send(msg, t.port, t.host));
  }
  // three rounds: "most commercial systems send the discovery packet multiple times"
  for (let round = 0; round < 3; round++) {
    for (const send of sends) {
      try {
        send();
      } catch {
        /* socket gone */
      }
    }
    await new Promise((r) => setTimeout(r, Math.min(300, opts.timeoutMs / 4)));
  }
  await new Promise((r) => setTimeout(r, Math.max(0, opts.timeoutMs - 900)));
  for (const s of sockets) s.close();
  return [...found.values()];
}
