// A pure function with no imports: the config schema uses it to accept what the recorder accepts
// (importing stream.ts from the schema would make a cycle through config/load).

/**
 * The sub stream's URL by the vendors' published conventions, or undefined:
 * - Hikvision ISAPI/RTSP: /Streaming/Channels/<channel><01 main | 02 sub> (101 → 102), and the
 *   older /h264/ch1/main/av_stream → /h264/ch1/sub/av_stream;
 * - Dahua (and its OEMs): /cam/realmonitor?channel=1&subtype=0 → subtype=1.
 * A URL already naming the sub stream is returned as is.
 */
export function subStreamUrl(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const hik = /^(.*\/Streaming\/Channels\/)(\d*?)(0[12])(\/?)$/i.exec(u.pathname);
  if (hik?.[2]) {
    u.pathname = `${hik[1]}${hik[2]}02${hik[4]}`;
    return u.toString();
  }
  const old = /^(.*\/ch\d+\/)(main|sub)(\/av_stream.*)$/i.exec(u.pathname);
  if (old) {
    u.pathname = `${old[1]}sub${old[3]}`;
    return u.toString();
  }
  if (/\/cam\/realmonitor$/i.test(u.pathname) && u.searchParams.has('subtype')) {
    u.searchParams.set('subtype', '1');
    return u.toString();
  }
  return undefined;
}
