/**
 * Biometric and credential minimisation for ZKTeco PUSH uploads, applied before anything is
 * written. The box needs the events (who punched, who was enrolled or deleted, by which admin),
 * never the templates, passwords, card numbers, ID-card numbers or pictures the terminal may send
 * along: China's face-recognition security measures (2025) and PIPL ask for the minimum.
 *
 * Whitelist, not blacklist: a record keeps only the keys listed here; every other key keeps its
 * name with its value replaced by its length, and a record type not known here keeps only its
 * type and size. Firmware that invents a new field therefore cannot leak it to the disk.
 *
 * Record lines (PUSH protocol, OPERLOG and the USERINFO/FINGERTMP/BIODATA/FACE tables):
 *   OPLOG <op>\t<admin>\t<time>\t<obj1>\t<obj2>\t<obj3>\t<obj4>   (event: kept whole, numbers only)
 *   USER PIN=1\tName=..\tPri=0\tPasswd=..\tCard=..\tGrp=1\tTZ=..\tVerify=..
 *   FP PIN=1\tFID=6\tSize=1184\tValid=1\tTMP=<base64 template>
 *   FACE PIN=1\tFID=0\tSIZE=..\tVALID=1\tTMP=<base64 template>
 *   BIODATA Pin=1\tNo=0\tIndex=0\tValid=1\tDuress=0\tType=9\tMajorVer=..\tMinorVer=..\tFormat=0\tTmp=..
 *   USERPIC / BIOPHOTO PIN=1\tFileName=1.jpg\tType=..\tSize=..\tContent=<base64 jpeg>
 *   IDCARD PIN=..\tSNNum=..\tIDNum=<ID-card number>\t...\tPhoto=..
 */

/** Keys kept with their value, per record type (case-insensitive). Everything else is stripped. */
const KEEP: Record<string, ReadonlySet<string>> = {
  USER: new Set(['pin', 'pri', 'grp', 'tz', 'verify']),
  FP: new Set(['pin', 'fid', 'size', 'valid']),
  FACE: new Set(['pin', 'fid', 'size', 'valid']),
  BIODATA: new Set(['pin', 'no', 'index', 'valid', 'duress', 'type', 'majorver', 'minorver', 'format']),
  USERPIC: new Set(['pin', 'size']),
  BIOPHOTO: new Set(['pin', 'type', 'size']),
  IDCARD: new Set(['pin']),
  WORKCODE: new Set(['pin', 'code']),
};

/** OPLOG event fields are numbers (operation code, admin PIN, objects) and one time stamp. */
const OPLOG_FIELD = /^[A-Za-z0-9 :.-]{0,32}$/;

function stripRecord(type: string, rest: string): string {
  const keep = KEEP[type];
  if (!keep) return `${type} [${rest.length} bytes not kept]`;
  const fields = rest.split('\t').map((f) => {
    const i = f.indexOf('=');
    if (i < 0) return `[${f.length} bytes]`;
    const k = f.slice(0, i);
    return keep.has(k.trim().toLowerCase()) ? f.slice(0, 200) : `${k.slice(0, 32)}=[${f.length - i - 1} bytes not kept]`;
  });
  return `${type} ${fields.join('\t')}`;
}

function stripLine(line: string): string {
  if (!line.trim()) return line;
  const m = /^\s*([A-Za-z]+)[ \t]+([\s\S]*)$/.exec(line);
  if (!m) return `[${line.length} bytes not kept]`;
  const type = m[1].toUpperCase();
  if (type === 'OPLOG') {
    const f = m[2].split('\t');
    return f.every((x) => OPLOG_FIELD.test(x)) ? line : `OPLOG [${line.length} bytes not kept]`;
  }
  return stripRecord(type, m[2]);
}

/** An OPERLOG (or user/template table) body with every template, password, card and picture stripped. */
export function stripOperlog(body: Buffer): Buffer {
  const text = body.toString('utf8').replace(/\0/g, '');
  return Buffer.from(
    text
      .split(/(\r?\n|\r)/)
      .map((l, i) => (i % 2 ? l : stripLine(l)))
      .join(''),
  );
}

/** `DEVICECMD` replies (`ID=17&Return=0&CMD=DATA`): only these keys, a query reply may carry a roster. */
export function stripDeviceCmd(body: Buffer): Buffer {
  const text = body.toString('utf8').replace(/\0/g, '');
  return Buffer.from(
    text
      .split(/\r?\n/)
      .map((l) =>
        l
          .split('&')
          .filter((kv) => /^(ID|Return|CMD)=[A-Za-z0-9_ -]{0,40}$/i.test(kv))
          .join('&'),
      )
      .join('\n'),
  );
}

/** Tables whose body is an event log or a roster/template upload: kept through stripOperlog. */
export const RECORD_TABLES = new Set(['OPERLOG', 'USERINFO', 'USER', 'FINGERTMP', 'FP', 'FACE', 'BIODATA', 'IDCARD']);
/** Face, fingerprint and attendance pictures: only their size is kept. */
const PHOTO_TABLES = new Set(['ATTPHOTO', 'BIOPHOTO', 'USERPIC']);
/** Tables kept as they come: punches and device options carry no biometric or credential. */
export const PLAIN_TABLES = new Set(['ATTLOG', 'OPTIONS']);

/**
 * What the box keeps of a ZKTeco upload: ATTLOG and OPTIONS as sent; event and roster tables
 * stripped; command replies reduced to their status; anything else (photos, unknown tables)
 * only as a note of its size.
 */
export function minimise(table: string, body: Buffer): Buffer {
  if (PLAIN_TABLES.has(table)) return body;
  if (RECORD_TABLES.has(table)) return stripOperlog(body);
  if (table === 'DEVICECMD') return stripDeviceCmd(body);
  const what = PHOTO_TABLES.has(table) ? 'picture' : 'unknown table';
  return Buffer.from(`[${table.slice(0, 32) || 'no table'} ${body.length} bytes: ${what} not kept]`);
}
