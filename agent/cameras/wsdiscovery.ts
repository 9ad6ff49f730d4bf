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

const tag = (xml: string, name: string) => new RegExp(`<(?:[\\w-]+:)?${name}(?:\\s[^>]*)?>([^<]*)</(?:[\\w-]+:)?${name}>`).exec(xml)?.[1]?.trim();
/** The inside of the first element `name` (any prefix), or undefined. */
const element = (xml: string, name: string) => new RegExp(`<(?:[\\w-]+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w-]+:)?${name}>`).exec(xml)?.[1];

/**
 * One ProbeMatch. The endpoint's identity is the `<Address>` of the ProbeMatch's own
 * `<EndpointReference>` (WS-Discovery 2005/04 §5.3), never the first `<Address>` of the message:
 * the SOAP header may carry a WS-Addressing `<ReplyTo><Address>` (often the anonymous role URI),
 * and taking that one made two cameras collapse into one.
 */
export function parseProbeMatch(xml: string, from: string): ProbeMatch | undefined {
  const body = element(xml, 'Body') ?? xml;
  const match = element(body, 'ProbeMatch');
  if (match === undefined) return undefined;
  const xaddrs = (tag(match, 'XAddrs') ?? '').split(/\s+/).filter(Boolean);
  const epr = element(match, 'EndpointReference');
  const urn = (epr !== undefined ? tag(epr, 'Address') : undefined) ?? xaddrs[0];
  if (!urn || !xaddrs.length) return undefined;
  return { urn, xaddrs, scopes: (tag(match, 'Scopes') ?? '').split(/\s+/).filter(Boolean), from };
}

/**
 * Where to ask a device found at `from` that announced `xaddrs`: the port and path of the XAddr
 * whose host is `from` (else the first readable one). Tolerant of what real devices send: an
 * XAddr without a scheme (`192.168.1.20:8000/onvif/device_service`), an IPv6 link-local with a
 * zone (`http://[fe80::1%eth0]/onvif/device_service`, which WHATWG URL rejects), garbage.
 * Never throws: one odd neighbour must not fail the whole scan.
 */
export function deviceEndpoint(xaddrs: string[], from: string): { port: number; path: string } {
  const parsed = xaddrs.map((a) => {
    const m = /^(?:(https?):\/\/)?(\[[^\]]*\]|[^/:\s]+)(?::(\d{1,5}))?(\/[^\s]*)?$/i.exec(a.trim());
    if (!m) return undefined;
    const host = m[2].replace(/^\[|\]$/g, '').replace(/%.*$/, '');
    const port = m[3] ? Number(m[3]) : m[1]?.toLowerCase() === 'https' ? 443 : 80;
    return port > 0 && port < 65536 ? { host, port, path: m[4] || '/onvif/device_service' } : undefined;
  });
  const ok = parsed.filter((x): x is { host: string; port: number; path: string } => !!x);
  const best = ok.find((x) => x.host === from) ?? ok[0];
  return best ? { port: best.port, path: best.path } : { port: 80, path: '/onvif/device_service' };
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
export async function wsDiscover(opts: {
  timeoutMs: number;
  multicast?: boolean;
  unicast?: Array<{ host: string; port: number }>;
  interfaces?: Array<{ name: string; address: string }>;
}): Promise<ProbeMatch[]> {
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
