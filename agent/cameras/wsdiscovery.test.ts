import { describe, expect, it } from 'vitest';
import { deviceEndpoint, parseProbeMatch } from './wsdiscovery.js';

/**
 * ProbeMatches shaped as the WS-Discovery 2005/04 spec's example (§5.3, Table 4) and as ONVIF
 * cameras send them: a WS-Addressing header with MessageID, RelatesTo, To and a ReplyTo whose
 * <Address> is the anonymous role, before the body's EndpointReference <Address>.
 */
const probeMatch = (urn: string, xaddrs: string, prefix = 'wsa') => `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:${prefix}="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">
 <SOAP-ENV:Header>
  <${prefix}:MessageID>uuid:0a6dc791-2be6-4991-9af1-454778a1917a</${prefix}:MessageID>
  <${prefix}:RelatesTo>uuid:4a3eb9c1-3b55-4a1a-9b8c-9d2f4d0a8e1b</${prefix}:RelatesTo>
  <${prefix}:ReplyTo SOAP-ENV:mustUnderstand="true"><${prefix}:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</${prefix}:Address></${prefix}:ReplyTo>
  <${prefix}:To SOAP-ENV:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</${prefix}:To>
  <${prefix}:Action SOAP-ENV:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</${prefix}:Action>
  <d:AppSequence SOAP-ENV:mustUnderstand="true" MessageNumber="68" InstanceId="1077004800"/>
 </SOAP-ENV:Header>
 <SOAP-ENV:Body>
  <d:ProbeMatches>
   <d:ProbeMatch>
    <${prefix}:EndpointReference><${prefix}:Address>${urn}</${prefix}:Address></${prefix}:EndpointReference>
    <d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>
    <d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/hardware/DS-2CD2T47G2 onvif://www.onvif.org/name/HIKVISION</d:Scopes>
    <d:XAddrs>${xaddrs}</d:XAddrs>
    <d:MetadataVersion>10</d:MetadataVersion>
   </d:ProbeMatch>
  </d:ProbeMatches>
 </SOAP-ENV:Body>
</SOAP-ENV:Envelope>`;

describe('WS-Discovery answers as cameras send them', () => {
  it('takes the identity from the ProbeMatch, not from a ReplyTo header: two cameras stay two', () => {
    const a = parseProbeMatch(probeMatch('urn:uuid:11111111-2222-3333-4444-555555555555', 'http://192.168.1.64/onvif/device_service'), '192.168.1.64');
    const b = parseProbeMatch(probeMatch('urn:uuid:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', 'http://192.168.1.65/onvif/device_service', 'a'), '192.168.1.65');
    expect(a?.urn).toBe('urn:uuid:11111111-2222-3333-4444-555555555555');
    expect(b?.urn).toBe('urn:uuid:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee');
    expect(a?.scopes).toContain('onvif://www.onvif.org/name/HIKVISION');
  });

  it('reads several XAddrs, and neighbours with odd addresses, without throwing', () => {
    const m = parseProbeMatch(
      probeMatch('urn:uuid:1', 'http://169.254.3.7/onvif/device_service http://192.168.1.20:8000/onvif/device_service http://[fe80::1%eth0]/onvif/device_service'),
      '192.168.1.20',
    )!;
    expect(m.xaddrs).toHaveLength(3);
    expect(deviceEndpoint(m.xaddrs, '192.168.1.20')).toEqual({ port: 8000, path: '/onvif/device_service' });
    // no scheme (seen from some NVR-branded cameras)
    expect(deviceEndpoint(['192.168.1.20:8000/onvif/device_service'], '192.168.1.20')).toEqual({ port: 8000, path: '/onvif/device_service' });
    // IPv6 link-local with a zone: WHATWG URL rejects it; the answer's source address is used anyway
    expect(deviceEndpoint(['http://[fe80::1%eth0]:8080/onvif/device_service'], 'fe80::1')).toEqual({ port: 8080, path: '/onvif/device_service' });
    expect(deviceEndpoint(['not a url at all', ''], '10.0.0.9')).toEqual({ port: 80, path: '/onvif/device_service' });
    expect(deviceEndpoint(['https://10.0.0.9/onvif/device_service'], '10.0.0.9')).toEqual({ port: 443, path: '/onvif/device_service' });
  });

  it('ignores what is not a ProbeMatch (a Hello, a Probe echoed back, bad XML)', () => {
    expect(parseProbeMatch('<Envelope><Body><Hello><EndpointReference><Address>urn:x</Address></EndpointReference></Hello></Body></Envelope>', '1.2.3.4')).toBeUndefined();
    expect(parseProbeMatch('<<<not xml', '1.2.3.4')).toBeUndefined();
  });
});

describe('probe errors', () => {
  it('never show the password from the URL, and say what kind of failure it is', async () => {
    const { probeStream } = await import('./probe.js');
    // a closed port on loopback: ffprobe says "rtsp://admin:S3cret!x@127.0.0.1:9/…: Connection refused"
    const err = await probeStream('rtsp://admin:S3cret!x@127.0.0.1:9/Streaming/Channels/101', { seconds: 1 }).catch((e: Error & { kind?: string }) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).not.toContain('S3cret');
    expect((err as { kind?: string }).kind).toBe('unreachable');
  }, 30_000);
});

describe('probe of a switched-off ONVIF camera', () => {
  it('exits 1 with the reason and what to do, not a raw error with exit 3', async () => {
    const { spawnSync } = await import('node:child_process');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { PACKAGE_ROOT } = await import('../core/paths.js');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-probe-'));
    const cfg = path.join(dir, 'agent.yaml');
    // port 9 (discard) on loopback: nothing listens, as with a camera switched off
    fs.writeFileSync(cfg, `paths:\n  state: ${dir}\ncameras:\n  - id: cam-off\n    onvif:\n      host: 127.0.0.1\n      port: 9\n    username: admin\n    password: S3cret-pw\n`);
    const r = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'main.js'), '-c', cfg, '--lang', 'en', 'probe', 'cam-off', '--seconds', '1'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the camera does not answer');
    expect(r.stderr + r.stdout).not.toContain('S3cret-pw');
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);
});
