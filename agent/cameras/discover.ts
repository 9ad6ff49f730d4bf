import http from 'node:http';
import type { Config } from '../config/schema.js';
import { resolveSecret } from '../config/load.js';
import { describeCamera, type CameraDescription } from './onvif.js';
import { expandRanges } from './ranges.js';
import { deviceEndpoint, wsDiscover, type ProbeMatch } from './wsdiscovery.js';

export interface DiscoveredCamera extends CameraDescription {
  via: Array<'multicast' | 'unicast'>;
  urn?: string;
  scopes?: string[];
}

const DATE_REQUEST =
  '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>' +
  '<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>';

/** Does host:port answer ONVIF SOAP? (GetSystemDateAndTime needs no password.) */
export function onvifAnswers(host: string, port: number, timeoutMs: number, path = '/onvif/device_service'): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ host, port, path, method: 'POST', timeout: timeoutMs, headers: { 'Content-Type': 'application/soap+xml; charset=utf-8' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 65536) body += c;
      });
      res.on('end', () => resolve(/Envelope/.test(body) && /SystemDateAndTime|Fault/.test(body)));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end(DATE_REQUEST);
  });
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await fn(items[i++]);
    }),
  );
}

/**
 * Find cameras: WS-Discovery multicast on every interface (when enabled), plus a unicast
 * probe of the configured address ranges × ports, because multicast does not cross the
 * school's VLANs. Each camera found is then described over ONVIF with the discovery
 * credentials.
 */
export async function discover(cfg: Config, opts: { wsdUnicast?: Array<{ host: string; port: number }>; interfaces?: Array<{ name: string; address: string }> } = {}): Promise<DiscoveredCamera[]> {
  const d = cfg.discovery;
  const targets = expandRanges(d.ranges);
  const found = new Map<string, { host: string; port: number; path: string; via: Set<'multicast' | 'unicast'>; match?: ProbeMatch }>();
  const add = (host: string, port: number, path: string, via: 'multicast' | 'unicast', match?: ProbeMatch) => {
    const key = `${host}:${port}`;
    const e = found.get(key) ?? { host, port, path, via: new Set(), match };
    e.via.add(via);
    e.match ??= match;
    found.set(key, e);
  };

  const wsd = d.multicast || opts.wsdUnicast?.length ? wsDiscover({ timeoutMs: d.timeoutMs, multicast: d.multicast, unicast: opts.wsdUnicast, interfaces: opts.interfaces }) : Promise.resolve([]);
  const unicast = pool(
    targets.flatMap((host) => d.ports.map((port) => ({ host, port }))),
    64,
    async ({ host, port }) => {
      if (await onvifAnswers(host, port, d.timeoutMs)) add(host, port, '/onvif/device_service', 'unicast');
    },
  );
  const [matches] = await Promise.all([wsd, unicast]);
  for (const m of matches) {
    const x = deviceEndpoint(m.xaddrs, m.from);
    // answer came from m.from: that address is reachable, the XAddr host may not be
    add(m.from, x.port, x.path, opts.wsdUnicast?.some((t) => t.host === m.from) ? 'unicast' : 'multicast', m);
  }

  const username = d.username;
  const password = resolveSecret(d.password, 'discovery.password');
  const out: DiscoveredCamera[] = [];
  for (const e of found.values()) {
    const desc = await describeCamera({ host: e.host, port: e.port, path: e.path, username, password, timeoutMs: Math.max(d.timeoutMs, 3000) });
    out.push({ ...desc, via: [...e.via], urn: e.match?.urn, scopes: e.match?.scopes });
  }
  return out.sort((a, b) => a.host.localeCompare(b.host) || a.port - b.port);
}
