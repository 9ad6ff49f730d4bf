import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HikDevice } from '../sim/terminals/hikvision.js';
import { DigestAuth, digestParams, digestRequest, digestResponse, parseChallenge, readAll } from './digest.js';
import { startCheckin } from './harness.js';
import { DigestServer } from './push-digest.js';

const run = promisify(execFile);

// RFC 7616 §3.9.1, the example for MD5 and SHA-256 (also the headers' layout: folded over lines)
const RFC = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  method: 'GET',
  uri: '/dir/index.html',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  nc: '00000001',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  qop: 'auth',
  opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
};
const rfcAuthorization = (alg: string, response: string) => `Digest username="Mufasa",
       realm="http-auth@example.org",
       uri="/dir/index.html",
       algorithm=${alg},
       nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
       nc=00000001,
       cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
       qop=auth,
       response="${response}",
       opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`;
const MD5_RESPONSE = '8ca523f5e9506fed4657c9700eebdbec';
const SHA256_RESPONSE = '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1';

describe('Digest (RFC 7616) on the box side', () => {
  it("computes RFC 7616's example responses (MD5 and SHA-256) and RFC 2617's", () => {
    expect(digestResponse({ ...RFC, algorithm: 'MD5' })).toBe(MD5_RESPONSE);
    expect(digestResponse({ ...RFC, algorithm: 'SHA-256' })).toBe(SHA256_RESPONSE);
    // RFC 2617 §3.5 (no algorithm: MD5)
    expect(
      digestResponse({
        username: 'Mufasa',
        realm: 'testrealm@host.com',
        password: 'Circle Of Life',
        method: 'GET',
        uri: '/dir/index.html',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        qop: 'auth',
        nc: '00000001',
        cnonce: '0a4f113b',
      }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });

  it("accepts RFC 7616's Authorization headers once, and refuses replays, other passwords, other targets", () => {
    const rfcNonce = (n: string) => n === RFC.nonce;
    for (const [alg, resp] of [
      ['MD5', MD5_RESPONSE],
      ['SHA-256', SHA256_RESPONSE],
    ]) {
      const ds = new DigestServer(RFC.realm);
      const h = rfcAuthorization(alg, resp);
      expect(ds.check(h, 'GET', RFC.uri, RFC.password, rfcNonce)).toBe('ok');
      // the same nonce and nc again: a replay (the password is right, so "stale": take a new nonce)
      expect(ds.check(h, 'GET', RFC.uri, RFC.password, rfcNonce)).toBe('stale');
      expect(ds.check(h, 'GET', RFC.uri, 'circle of life', rfcNonce)).toBe('bad');
      expect(ds.check(h, 'POST', RFC.uri, RFC.password, rfcNonce)).toBe('bad');
      expect(ds.check(h, 'GET', '/dir/other.html', RFC.password, rfcNonce)).toBe('bad');
      expect(ds.check(h, 'GET', RFC.uri, undefined, rfcNonce)).toBe('bad');
      // the box's own nonce check: the RFC's nonce is not one of ours, the password is right: stale
      expect(new DigestServer(RFC.realm).check(h, 'GET', RFC.uri, RFC.password)).toBe('stale');
    }
    // another realm, auth-int, -sess and unknown algorithms are not what the box offers
    const ds = new DigestServer(RFC.realm);
    const other = (from: string, to: string) => rfcAuthorization('MD5', MD5_RESPONSE).replace(from, to);
    expect(new DigestServer('elsewhere').check(rfcAuthorization('MD5', MD5_RESPONSE), 'GET', RFC.uri, RFC.password, rfcNonce)).toBe('bad');
    expect(ds.check(other('qop=auth', 'qop=auth-int'), 'GET', RFC.uri, RFC.password, rfcNonce)).toBe('bad');
    expect(ds.check(other('algorithm=MD5', 'algorithm=MD5-sess'), 'GET', RFC.uri, RFC.password, rfcNonce)).toBe('bad');
    expect(ds.check(other('algorithm=MD5', 'algorithm=SHA-512-256'), 'GET', RFC.uri, RFC.password, rfcNonce)).toBe('bad');
    expect(ds.check('Basic TXVmYXNhOkNpcmNsZSBvZiBMaWZl', 'GET', RFC.uri, RFC.password, rfcNonce)).toBe('bad');
  });

  it('its own nonces: valid for their life, then stale; a forged one is not accepted as fresh', () => {
    let now = 1_800_000_000_000;
    const ds = new DigestServer('classroom-agent', () => now);
    const ch = ds.challenges();
    expect(ch.map((c) => parseChallenge(c)!.algorithm)).toEqual(['SHA-256', 'MD5']);
    expect(new Set(ch.map((c) => parseChallenge(c)!.nonce)).size).toBe(1);
    const auth = (nonce: string, nc: string) => {
      const a = new DigestAuth('hik-1', 'tok-1', { realm: 'classroom-agent', nonce, qop: 'auth', algorithm: 'SHA-256' });
      for (let i = 1; i < Number.parseInt(nc, 16); i++) a.header('POST', '/hikvision/hik-1');
      return a.header('POST', '/hikvision/hik-1');
    };
    const nonce = parseChallenge(ch[0])!.nonce;
    expect(ds.check(auth(nonce, '00000001'), 'POST', '/hikvision/hik-1', 'tok-1')).toBe('ok');
    expect(ds.check(auth(nonce, '00000002'), 'POST', '/hikvision/hik-1', 'tok-1')).toBe('ok');
    now += 299_000;
    expect(ds.check(auth(nonce, '00000003'), 'POST', '/hikvision/hik-1', 'tok-1')).toBe('ok');
    now += 2_000;
    expect(ds.check(auth(nonce, '00000004'), 'POST', '/hikvision/hik-1', 'tok-1')).toBe('stale');
    expect(parseChallenge(ds.challenges(true)[0])).toMatchObject({ stale: 'true' });
    // a nonce with its MAC changed
    const b = Buffer.from(nonce, 'base64url');
    b[31] ^= 1;
    expect(ds.check(auth(b.toString('base64url'), '00000001'), 'POST', '/hikvision/hik-1', 'tok-1')).toBe('stale');
    expect(ds.check(auth(nonce, '00000005'), 'POST', '/hikvision/hik-1', 'wrong')).toBe('bad');
  });
});

describe('Digest on Hikvision pushes (real HTTP clients)', () => {
  let s: Awaited<ReturnType<typeof startCheckin>>;
  const dev = new HikDevice();
  let serial = 7000;
  const event = (emp: string) => dev.eventJson({ ...dev.punch(emp, Date.now()), serialNo: serial++ });
  const stored = (emp: string) => s.ctx.store.db.prepare('SELECT COUNT(*) FROM checkins WHERE person = ?').pluck().get(emp) as number;

  beforeAll(async () => {
    s = await startCheckin({
      terminals: [
        { id: 'hik-1', protocol: 'hikvision', token: 'hik-1-push-secret' },
        { id: 'hik-2', protocol: 'hikvision', token: 'hik-2-push-secret' },
      ],
    });
  });
  afterAll(async () => {
    await s?.stop();
    await dev.close();
  });

  it('curl --digest (SHA-256, the first challenge) posts an event: stored once; a wrong password and another terminal are refused alike', async () => {
    const body = path.join(s.dir, 'event.json');
    fs.writeFileSync(body, event('8801'));
    const curl = (user: string, url: string) =>
      run('curl', ['-sS', '--digest', '-u', user, '-H', 'Content-Type: application/json', '--data-binary', `@${body}`, '-o', '/dev/null', '-w', '%{http_code}', url]).then((r) => r.stdout);
    expect(await curl('hik-1:hik-1-push-secret', `${s.base}/hikvision/hik-1`)).toBe('200');
    expect(stored('8801')).toBe(1);
    // hik-2's password on hik-1's path, a wrong one, an unknown terminal: the same 401
    expect(await curl('hik-1:hik-2-push-secret', `${s.base}/hikvision/hik-1`)).toBe('401');
    expect(await curl('hik-1:nope', `${s.base}/hikvision/hik-1`)).toBe('401');
    expect(await curl('x:hik-1-push-secret', `${s.base}/hikvision/nope`)).toBe('401');
    // curl's verbose trace shows the dance: 401 with the challenge, then the Authorization with SHA-256
    const v = await run('curl', [
      '-sv',
      '--digest',
      '-u',
      'hik-1:hik-1-push-secret',
      '-H',
      'Content-Type: application/json',
      '--data-binary',
      `@${body}`,
      '-o',
      '/dev/null',
      `${s.base}/hikvision/hik-1`,
    ]);
    expect(v.stderr).toMatch(
      /< HTTP\/1\.1 401[\s\S]*www-authenticate: Digest realm="classroom-agent", qop="auth", algorithm=SHA-256[\s\S]*Authorization: Digest username="hik-1"[\s\S]*algorithm=SHA-256[\s\S]*< HTTP\/1\.1 200/i,
    );
    expect(stored('8801')).toBe(1);
  });

  it("the box's Digest client with MD5 (what httpHosts MD5digest sends), and a stale nonce retried", async () => {
    // the MD5 challenge of a 401
    const first = await digestRequest(`${s.base}/hikvision/hik-2`, { method: 'POST', body: event('8802'), headers: { 'content-type': 'application/json' } });
    await readAll(first);
    expect(first.statusCode).toBe(401);
    const md5 = String(first.headers['www-authenticate'])
      .split(/,\s*(?=Digest\s)/)
      .map((c) => parseChallenge(c)!)
      .find((c) => c.algorithm === 'MD5')!;
    const hdr = new DigestAuth('admin', 'hik-2-push-secret', md5).header('POST', '/hikvision/hik-2');
    const ok = await digestRequest(`${s.base}/hikvision/hik-2`, { method: 'POST', body: event('8802'), headers: { 'content-type': 'application/json', authorization: hdr } });
    await readAll(ok);
    expect(ok.statusCode).toBe(200);
    expect(stored('8802')).toBe(1);
    // a nonce another agent made (as after a restart): 401 stale=true, and the client's one retry gets in
    const foreign = parseChallenge(new DigestServer('classroom-agent').challenges()[1])!;
    const stale = await digestRequest(`${s.base}/hikvision/hik-2`, {
      method: 'POST',
      body: event('8803'),
      headers: { 'content-type': 'application/json', authorization: new DigestAuth('admin', 'hik-2-push-secret', foreign).header('POST', '/hikvision/hik-2') },
    });
    await readAll(stale);
    expect(stale.statusCode).toBe(401);
    expect(digestParams(String(stale.headers['www-authenticate']))!.stale).toBe('true');
    const again = await digestRequest(`${s.base}/hikvision/hik-2`, {
      method: 'POST',
      body: event('8803'),
      headers: { 'content-type': 'application/json' },
      username: 'admin',
      password: 'hik-2-push-secret',
    });
    await readAll(again);
    expect(again.statusCode).toBe(200);
    expect(stored('8803')).toBe(1);
  });

  it('is judged from the headers: a 1 MB push without credentials gets its 401 and challenge before it sends a body byte', async () => {
    const sock = net.connect(s.port, '127.0.0.1');
    const got: Buffer[] = [];
    sock.on('data', (d: Buffer) => got.push(d));
    sock.write(`POST /hikvision/hik-1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n`);
    const head = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer before the body; got ${Buffer.concat(got).toString('latin1').slice(0, 200)}`)), 30_000);
      const check = () => {
        const s2 = Buffer.concat(got).toString('latin1');
        if (s2.includes('\r\n\r\n')) {
          clearTimeout(t);
          resolve(s2);
        }
      };
      sock.on('data', check);
      sock.on('close', check);
    });
    sock.destroy();
    expect(head).toMatch(/^HTTP\/1\.1 401/);
    expect(head).toMatch(/www-authenticate: Digest realm="classroom-agent", qop="auth", algorithm=SHA-256, nonce="[A-Za-z0-9_-]{43}"/i);
    expect(head).toMatch(/connection: close/i);
  });
});
