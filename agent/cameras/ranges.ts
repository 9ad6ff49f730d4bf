import { InputError } from '../core/errors.js';

/**
 * Unicast probe targets: "192.168.1.10", "192.168.1.1-254", "192.168.1.10-192.168.1.20" or
 * "10.0.0.0/24". Capped, so a typo like /8 does not send sixteen million requests.
 */
export const MAX_TARGETS = 4096;

const toInt = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
const IP = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const isIp = (s: string) => IP.test(s) && s.split('.').every((o) => Number(o) <= 255);

export function expandRanges(ranges: readonly string[], where = 'discovery.ranges'): string[] {
  const out = new Set<string>();
  const issues: Array<{ path: string; message: string }> = [];
  ranges.forEach((r, i) => {
    const s = r.trim();
    let from: number;
    let to: number;
    const cidr = /^(.+)\/(\d{1,2})$/.exec(s);
    const dash = /^(.+)-(.+)$/.exec(s);
    if (cidr && isIp(cidr[1]) && Number(cidr[2]) <= 32) {
      const bits = Number(cidr[2]);
      const size = 2 ** (32 - bits);
      from = Math.floor(toInt(cidr[1]) / size) * size;
      to = from + size - 1;
      if (bits <= 30) {
        from++;
        to--;
      }
    } else if (dash && isIp(dash[1]) && (isIp(dash[2]) || /^\d{1,3}$/.test(dash[2]))) {
      from = toInt(dash[1]);
      to = isIp(dash[2]) ? toInt(dash[2]) : Math.floor(from / 256) * 256 + Number(dash[2]);
    } else if (isIp(s)) {
      from = to = toInt(s);
    } else {
      issues.push({ path: `${where}[${i}]`, message: `not an address or range: "${r}" (use 192.168.1.10, 192.168.1.1-254 or 192.168.1.0/24)` });
      return;
    }
    if (to < from) {
      issues.push({ path: `${where}[${i}]`, message: `range ends before it starts: "${r}"` });
      return;
    }
    for (let n = from; n <= to && out.size <= MAX_TARGETS; n++) out.add(toIp(n));
  });
  if (out.size > MAX_TARGETS) issues.push({ path: where, message: `more than ${MAX_TARGETS} addresses; narrow the ranges` });
  if (issues.length) throw new InputError('config', issues);
  return [...out];
}
