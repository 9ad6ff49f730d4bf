import crypto, { type KeyObject } from 'node:crypto';

/**
 * C2SP signed-note (https://c2sp.org/signed-note) with Ed25519, and C2SP tlog-checkpoint
 * (https://c2sp.org/tlog-checkpoint) bodies. The formats of Go's checksum database, Sigstore and
 * the transparency-dev witnesses: a checkpoint signed here opens with their tools.
 *
 * why hand-written: Node has Ed25519 in node:crypto; the text format is ~60 lines and there is no
 * maintained npm package for it. Tested byte for byte against golang.org/x/mod/sumdb/note's
 * published key and signature (note.test.ts). Pure functions except key generation.
 */

const ALG_ED25519 = 1;
// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410): node:crypto imports keys as DER
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface NoteSigner {
  name: string;
  keyId: Buffer;
  privateKey: KeyObject;
  /** the verifier key string: `<name>+<hex key id>+<base64(0x01 || public key)>` */
  vkey: string;
}

export interface NoteVerifier {
  name: string;
  keyId: Buffer;
  publicKey: KeyObject;
  vkey: string;
}

/** Key names are URL-like: no spaces, no '+', no newlines (signed-note §Signatures). */
export function validKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name);
}

function keyId(name: string, pub: Buffer): Buffer {
  return crypto
    .createHash('sha256')
    .update(Buffer.from(`${name}\n`, 'utf8'))
    .update(Buffer.from([ALG_ED25519]))
    .update(pub)
    .digest()
    .subarray(0, 4);
}

const rawPublic = (k: KeyObject) => k.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);

function signerFromSeed(name: string, seed: Buffer): NoteSigner {
  const privateKey = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const pub = rawPublic(crypto.createPublicKey(privateKey));
  const id = keyId(name, pub);
  return { name, keyId: id, privateKey, vkey: `${name}+${id.toString('hex')}+${Buffer.concat([Buffer.from([ALG_ED25519]), pub]).toString('base64')}` };
}

/** A new key pair; returns the signer and the private key string to keep in the key file. */
export function generateSigner(name: string): { signer: NoteSigner; skey: string } {
  if (!validKeyName(name)) throw new Error(`key name ${JSON.stringify(name)} must have no spaces or '+'`);
  const seed = crypto.randomBytes(32);
  const signer = signerFromSeed(name, seed);
  return { signer, skey: `PRIVATE+KEY+${name}+${signer.keyId.toString('hex')}+${Buffer.concat([Buffer.from([ALG_ED25519]), seed]).toString('base64')}` };
}

/** Parse `PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>` (Go's note.NewSigner format). */
export function parseSignerKey(skey: string): NoteSigner {
  const m = /^PRIVATE\+KEY\+([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(skey.trim());
  if (!m) throw new Error('not a signed-note private key (PRIVATE+KEY+name+id+key)');
  const raw = Buffer.from(m[3], 'base64');
  if (raw.length !== 33 || raw[0] !== ALG_ED25519) throw new Error('private key is not an Ed25519 key of 32 bytes');
  const s = signerFromSeed(m[1], raw.subarray(1));
  if (s.keyId.toString('hex') !== m[2]) throw new Error('private key id does not match the key');
  return s;
}

/** Parse a verifier key `<name>+<id>+<base64(0x01 || public key)>`; throws on any mangling. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(vkey);
  if (!m) throw new Error('not a signed-note verifier key (name+id+key)');
  const raw = Buffer.from(m[3], 'base64');
  if (raw.toString('base64') !== m[3] || raw.length !== 33 || raw[0] !== ALG_ED25519) throw new Error('verifier key is not an Ed25519 key of 32 bytes');
  const pub = raw.subarray(1);
  const id = keyId(m[1], pub);
  if (id.toString('hex') !== m[2]) throw new Error('verifier key id does not match the key');
  return { name: m[1], keyId: id, publicKey: crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' }), vkey };
}

/** Sign a note's text (which must end in a newline) with one or more keys. */
export function signNote(text: string, ...signers: NoteSigner[]): string {
  if (!text.endsWith('\n')) throw new Error('note text must end with a newline');
  const lines = signers.map((s) => {
    const sig = crypto.sign(null, Buffer.from(text, 'utf8'), s.privateKey);
    return `— ${s.name} ${Buffer.concat([s.keyId, sig]).toString('base64')}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

export interface OpenedNote {
  text: string;
  /** names of the given verifiers whose signature is present and valid */
  verified: string[];
  /** signature lines from keys not given (ignored, as signed-note says) */
  unknown: number;
}

/**
 * Open a signed note: the text and which of `verifiers` signed it. Throws on a malformed note or
 * a signature line of a known key that does not verify (a forged or altered note).
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): OpenedNote {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new Error('malformed note: no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const sigLines = note.slice(split + 2, -1).split('\n');
  const verified: string[] = [];
  let unknown = 0;
  for (const line of sigLines) {
    const m = /^— (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
    if (!m) throw new Error('malformed note: bad signature line');
    const blob = Buffer.from(m[2], 'base64');
    if (blob.length < 5) throw new Error('malformed note: short signature');
    const v = verifiers.find((x) => x.name === m[1] && x.keyId.equals(blob.subarray(0, 4)));
    if (!v) {
      unknown++;
      continue;
    }
    if (blob.length !== 68 || !crypto.verify(null, Buffer.from(text, 'utf8'), v.publicKey, blob.subarray(4))) throw new Error(`invalid signature by ${v.name}`);
    if (!verified.includes(v.name)) verified.push(v.name);
  }
  return { text, verified, unknown };
}

export interface Checkpoint {
  origin: string;
  size: number;
  /** root hash, 32 bytes */
  root: Buffer;
  /** extension lines, as-is (this agent writes `time <UTC ms>`) */
  extensions: string[];
}

/** The checkpoint body (tlog-checkpoint): origin, size, base64 root, extension lines. */
export function formatCheckpoint(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${c.root.toString('base64')}\n${c.extensions.map((e) => `${e}\n`).join('')}`;
}

export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') throw new Error('malformed checkpoint: fewer than 3 lines');
  const [origin, size, root, ...rest] = lines.slice(0, -1);
  if (!origin || !/^(0|[1-9][0-9]{0,15})$/.test(size)) throw new Error('malformed checkpoint: origin or size');
  const r = Buffer.from(root, 'base64');
  if (r.length !== 32 || r.toString('base64') !== root) throw new Error('malformed checkpoint: root hash');
  if (rest.some((l) => l === '')) throw new Error('malformed checkpoint: empty extension line');
  return { origin, size: Number(size), root: r, extensions: rest };
}

/** The `time <ms>` extension of a checkpoint, if any. */
export function checkpointTime(c: Checkpoint): number | undefined {
  const t = c.extensions.find((e) => /^time \d+$/.test(e));
  return t ? Number(t.slice(5)) : undefined;
}
