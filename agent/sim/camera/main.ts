/**
 * Run a simulated camera in the foreground (demo, and the multicast test inside a network
 * namespace): `node dist/agent/sim/camera/main.js [--http-host H] [--http-port P]
 * [--multicast] [--report-host H] [--user U --password P] [--width W --height H --keyint N]`.
 * Prints one JSON line {httpPort, rtspUrl, urn, discoveryPort} when ready; SIGTERM stops it.
 */
import { SimCamera } from './camera.js';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const num = (name: string) => (opt(name) !== undefined ? Number(opt(name)) : undefined);
const multicast = args.includes('--multicast');
const cam = new SimCamera({
  httpHost: opt('http-host'),
  reportHost: opt('report-host'),
  username: opt('user'),
  password: opt('password'),
  auth: opt('auth') === 'digest' ? 'digest' : 'wsse',
  clockOffsetMs: num('clock-offset-ms'),
  rtsp: { width: num('width'), height: num('height'), fps: num('fps'), keyint: num('keyint'), bitrateKbps: num('bitrate') },
  discovery: multicast ? { address: '0.0.0.0', port: 3702, multicast: true } : { address: '127.0.0.1', port: num('discovery-port') ?? 0 },
});
await cam.start(num('http-port') ?? 0);
process.stdout.write(`${JSON.stringify({ httpPort: cam.httpPort, rtspUrl: cam.rtspUrl, urn: cam.urn, discoveryPort: cam.discoveryPort })}\n`);
const stop = async () => {
  await cam.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
