import { randomUUID } from 'node:crypto';

/**
 * SOAP 1.2 bodies a Profile S camera answers with. Written from the ONVIF WSDLs
 * (ver10/device, ver10/media, ver10/schema); only what discovery, probing and recording use.
 */
const NS =
  'xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" ' +
  'xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema" ' +
  'xmlns:ter="http://www.onvif.org/ver10/error"';

export const envelope = (body: string) => `<?xml version="1.0" encoding="UTF-8"?><s:Envelope ${NS}><s:Body>${body}</s:Body></s:Envelope>`;

export const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function fault(subcode: string, reason: string): string {
  return envelope(
    `<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>${subcode}</s:Value></s:Subcode></s:Code>` + `<s:Reason><s:Text xml:lang="en">${xmlEscape(reason)}</s:Text></s:Reason></s:Fault>`,
  );
}

export function systemDateAndTime(at: Date): string {
  return envelope(
    '<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>Manual</tt:DateTimeType>' +
      '<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>CST-8</tt:TZ></tt:TimeZone>' +
      `<tt:UTCDateTime><tt:Time><tt:Hour>${at.getUTCHours()}</tt:Hour><tt:Minute>${at.getUTCMinutes()}</tt:Minute><tt:Second>${at.getUTCSeconds()}</tt:Second></tt:Time>` +
      `<tt:Date><tt:Year>${at.getUTCFullYear()}</tt:Year><tt:Month>${at.getUTCMonth() + 1}</tt:Month><tt:Day>${at.getUTCDate()}</tt:Day></tt:Date></tt:UTCDateTime>` +
      '</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>',
  );
}

export function services(base: string): string {
  const svc = (ns: string, path: string) =>
    `<tds:Service><tds:Namespace>${ns}</tds:Namespace><tds:XAddr>${base}${path}</tds:XAddr><tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>`;
  return envelope(
    `<tds:GetServicesResponse>${svc('http://www.onvif.org/ver10/device/wsdl', '/onvif/device_service')}${svc('http://www.onvif.org/ver10/media/wsdl', '/onvif/media_service')}</tds:GetServicesResponse>`,
  );
}

export function capabilities(base: string): string {
  return envelope(
    `<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Device><tt:XAddr>${base}/onvif/device_service</tt:XAddr></tt:Device>` +
      `<tt:Media><tt:XAddr>${base}/onvif/media_service</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>` +
      '</tds:Capabilities></tds:GetCapabilitiesResponse>',
  );
}

export interface DeviceInfo {
  manufacturer: string;
  model: string;
  firmware: string;
  serial: string;
  hardwareId: string;
}

export function deviceInformation(d: DeviceInfo): string {
  return envelope(
    `<tds:GetDeviceInformationResponse><tds:Manufacturer>${xmlEscape(d.manufacturer)}</tds:Manufacturer><tds:Model>${xmlEscape(d.model)}</tds:Model>` +
      `<tds:FirmwareVersion>${xmlEscape(d.firmware)}</tds:FirmwareVersion><tds:SerialNumber>${xmlEscape(d.serial)}</tds:SerialNumber><tds:HardwareId>${xmlEscape(d.hardwareId)}</tds:HardwareId></tds:GetDeviceInformationResponse>`,
  );
}

export interface VideoProfile {
  token: string;
  /** tt:Name (Hikvision: mainStream, subStream); the token when unset */
  name?: string;
  width: number;
  height: number;
  fps: number;
  gop: number;
  bitrateKbps: number;
}

export function videoSources(p: VideoProfile): string {
  return envelope(
    `<trt:GetVideoSourcesResponse><trt:VideoSources token="vs1"><tt:Framerate>${p.fps}</tt:Framerate><tt:Resolution><tt:Width>${p.width}</tt:Width><tt:Height>${p.height}</tt:Height></tt:Resolution></trt:VideoSources></trt:GetVideoSourcesResponse>`,
  );
}

/** GetProfiles: one trt:Profiles per profile, in the camera's order (main stream first, as cameras list them). */
export function profiles(list: VideoProfile[]): string {
  const one = (p: VideoProfile, i: number) =>
    `<trt:Profiles token="${p.token}" fixed="true"><tt:Name>${xmlEscape(p.name ?? p.token)}</tt:Name>` +
    `<tt:VideoSourceConfiguration token="vsc1"><tt:Name>vsc1</tt:Name><tt:UseCount>${list.length}</tt:UseCount><tt:SourceToken>vs1</tt:SourceToken><tt:Bounds x="0" y="0" width="${list[0].width}" height="${list[0].height}"/></tt:VideoSourceConfiguration>` +
    `<tt:VideoEncoderConfiguration token="vec${i + 1}"><tt:Name>vec${i + 1}</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding>` +
    `<tt:Resolution><tt:Width>${p.width}</tt:Width><tt:Height>${p.height}</tt:Height></tt:Resolution><tt:Quality>5</tt:Quality>` +
    `<tt:RateControl><tt:FrameRateLimit>${p.fps}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>${p.bitrateKbps}</tt:BitrateLimit></tt:RateControl>` +
    `<tt:H264><tt:GovLength>${p.gop}</tt:GovLength><tt:H264Profile>Baseline</tt:H264Profile></tt:H264><tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration>` +
    '</trt:Profiles>';
  return envelope(`<trt:GetProfilesResponse>${list.map(one).join('')}</trt:GetProfilesResponse>`);
}

export function mediaUri(element: 'GetStreamUriResponse' | 'GetSnapshotUriResponse', uri: string): string {
  return envelope(
    `<trt:${element}><trt:MediaUri><tt:Uri>${xmlEscape(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:${element}>`,
  );
}

export function probeMatches(opts: { relatesTo: string; urn: string; xaddr: string; scopes: string[] }): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" ' +
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" ' +
    'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>' +
    `<a:MessageID>urn:uuid:${randomUUID()}</a:MessageID><a:RelatesTo>${xmlEscape(opts.relatesTo)}</a:RelatesTo>` +
    '<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>' +
    '<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action></s:Header><s:Body>' +
    `<d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>${opts.urn}</a:Address></a:EndpointReference>` +
    `<d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>${opts.scopes.map(xmlEscape).join(' ')}</d:Scopes>` +
    `<d:XAddrs>${xmlEscape(opts.xaddr)}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>`
  );
}
