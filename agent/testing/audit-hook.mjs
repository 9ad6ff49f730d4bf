// Loaded into every Node process of a test run (NODE_OPTIONS=--import, set by
// agent/testing/global-setup.ts): copies what the process writes to its stdout and stderr
// (console, process.stdout.write, pino's synchronous fs.writeSync on fd 1 and 2) into the run's
// audit folder, where the global teardown looks for configured secrets.
// why plain JavaScript: NODE_OPTIONS loads it into every node started during the run, the
// compiler included, before anything is built.
import fs from 'node:fs';

const dir = process.env.CA_SECRET_AUDIT_DIR;
if (dir && fs.existsSync(dir)) {
  const writeSync = fs.writeSync;
  let fd;
  const copy = (chunk, encoding) => {
    try {
      fd ??= fs.openSync(`${dir}/out-${process.pid}-${Date.now()}.log`, 'a', 0o600);
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : Buffer.from(chunk.buffer ?? chunk, chunk.byteOffset ?? 0, chunk.byteLength ?? chunk.length);
      writeSync.call(fs, fd, buf);
    } catch {
      // the audit must never break the program under test
    }
  };
  // what never reaches stdout/stderr (logs vitest holds back for passing tests) is copied through this
  globalThis.__caSecretAuditCopy = (line) => copy(line, 'utf8');
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write;
    stream.write = function (chunk, encoding, cb) {
      copy(chunk, encoding);
      return write.call(this, chunk, encoding, cb);
    };
  }
  fs.writeSync = function (target, data, ...rest) {
    if (target === 1 || target === 2) {
      if (typeof data === 'string') copy(data, typeof rest[1] === 'string' ? rest[1] : 'utf8');
      else if (data && typeof rest[0] === 'number') copy(Buffer.from(data.buffer ?? data, (data.byteOffset ?? 0) + rest[0], rest[1] ?? data.byteLength - rest[0]));
      else if (data) copy(data);
    }
    return writeSync.call(this, target, data, ...rest);
  };
}
