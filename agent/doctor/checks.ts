import fs from 'node:fs';
import path from 'node:path';
import { loadProfile } from '../config/profile.js';
import { pendingMigrations } from '../store/migrate.js';
import { MIGRATIONS } from '../store/migrations/index.js';
import { AlarmRepo } from '../store/alarms.js';
import { diskSpace, forecast } from '../retention/disk.js';
import { sha256File } from '../core/hash.js';
import { evidenceLog } from '../store/evidence-log.js';
import { verifyBox } from '../evidence/verify-box.js';
import { keyFolderOf, originOf, readLocalCheckpoint, readPublicKey } from '../evidence/keys.js';
import { needsConfig, readStore, type Check } from './check.js';
import { locate, locateSource, type Tool } from '../ffmpeg/locate.js';
import { clockSync, existingAncestor, run } from './system.js';
import { RecordingRepo } from '../store/recordings.js';

const GB = 1024 ** 3;
const gb = (n: number) => `${(n / GB).toFixed(1)} GB`;

/** Open the store read-only (doctor never creates or migrates it). */

export const configCheck: Check = {
  id: 'config',
  title: { zh: '配置文件', en: 'config file' },
  async run(env) {
    if (env.configError) {
      const issues = env.configError.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
      return {
        status: 'fail',
        detail: `${env.configError.source}: ${issues.join('; ')}`,
        fix: {
          zh: `按上面列出的路径修改 ${env.configFile ?? '配置文件'}，再运行 classroom-agent config check 确认；各项含义见 config/agent.example.yaml`,
          en: `edit ${env.configFile ?? 'the config file'} at the paths listed, then run classroom-agent config check; every key is explained in config/agent.example.yaml`,
        },
      };
    }
    const cfg = env.cfg!;
    try {
      loadProfile(cfg.profile);
    } catch (err) {
      return {
        status: 'fail',
        detail: (err as Error).message,
        fix: { zh: '把 profile 改为 config/profiles/ 下已有的规则（如 henan-2025）', en: 'set profile to one in config/profiles/ (e.g. henan-2025)' },
      };
    }
    return {
      status: 'ok',
      detail: `${env.configFile ?? 'embedded defaults'}: box ${cfg.box.id}, room ${cfg.box.room}, ${cfg.cameras.length} camera(s), ${cfg.terminals.length} terminal(s), profile ${cfg.profile}`,
    };
  },
};

export const storeCheck: Check = {
  id: 'store',
  title: { zh: '证据数据库', en: 'evidence store' },
  async run(env) {
    const skip = needsConfig(env);
    if (skip) return skip;
    const file = env.paths!.database;
    try {
      const r = await readStore(file, (s) => ({ integrity: s.integrityCheck(), pending: pendingMigrations(s.db, MIGRATIONS) }));
      if (!r)
        return {
          status: 'warn',
          detail: `${file} does not exist yet`,
          fix: { zh: '守护进程首次启动时会创建：systemctl start classroom-agent', en: 'the daemon creates it on first start: systemctl start classroom-agent' },
        };
      if (r.integrity !== 'ok') {
        return {
          status: 'fail',
          detail: `quick_check: ${r.integrity.slice(0, 200)}`,
          fix: {
            zh: `停止服务，备份 ${file}，用 sqlite3 "${file}" ".recover" 恢复，并联系维护人员`,
            en: `stop the service, back up ${file}, recover with sqlite3 "${file}" ".recover", and tell the maintainers`,
          },
        };
      }
      if (r.pending.length) {
        return {
          status: 'warn',
          detail: `integrity ok; ${r.pending.length} migration(s) pending: ${r.pending.join(', ')}`,
          fix: { zh: '重启服务以应用升级：systemctl restart classroom-agent', en: 'restart the service to apply them: systemctl restart classroom-agent' },
        };
      }
      return { status: 'ok', detail: `${file}: integrity ok, migrations current (${MIGRATIONS.length})` };
    } catch (err) {
      const msg = (err as Error).message;
      if (/not a database|malformed|corrupt/i.test(msg)) {
        return {
          status: 'fail',
          detail: `${file}: ${msg}`,
          fix: {
            zh: `停止服务，备份 ${file}，用 sqlite3 "${file}" ".recover" 恢复，并联系维护人员`,
            en: `stop the service, back up ${file}, recover with sqlite3 "${file}" ".recover", and tell the maintainers`,
          },
        };
      }
      return {
        status: 'fail',
        detail: `${file}: ${msg}`,
        fix: { zh: `检查 ${path.dirname(file)} 的权限（属主应为 classroom-agent）和磁盘`, en: `check the permissions of ${path.dirname(file)} (owner classroom-agent) and the disk` },
      };
    }
  },
};

export const diskCheck: Check = {
  id: 'disk',
  title: { zh: '磁盘空间与预测', en: 'disk space and forecast' },
  async run(env) {
    const skip = needsConfig(env);
    if (skip) return skip;
    const cfg = env.cfg!;
    const space = diskSpace(existingAncestor(env.paths!.video));
    const f = await readStore(env.paths!.database, (s) => forecast(s, { now: env.now, windowDays: cfg.retention.rateWindowDays, budgetBytes: cfg.retention.diskBudgetBytes, space }));
    const base = `free ${gb(space.availBytes)} of ${gb(space.totalBytes)}`;
    if (!f) return { status: space.availBytes < GB ? 'fail' : 'ok', detail: `${base}; no recordings yet` };
    const days = f.daysUntilFull === null ? 'not filling' : `full in ${Math.floor(f.daysUntilFull)} days`;
    const detail = `${base}; agent uses ${gb(f.usedBytes)} of budget ${gb(f.budgetBytes)}; ${gb(f.bytesPerDay)}/day; ${days}`;
    const fix = {
      zh: '增加磁盘或设置 retention.archiveDir 归档；未过期的证据不会被自动删除',
      en: 'add disk, or set retention.archiveDir to archive; unexpired evidence is never deleted automatically',
    };
    if (f.full) return { status: 'fail', detail, fix };
    if (f.daysUntilFull !== null && f.daysUntilFull < cfg.retention.alarmDaysBeforeFull) return { status: 'warn', detail, fix };
    return { status: 'ok', detail };
  },
};

export const writeSpeedCheck: Check = {
  id: 'write-speed',
  title: { zh: '磁盘写入速度', en: 'disk write speed' },
  async run(env) {
    const skip = needsConfig(env);
    if (skip) return skip;
    const dir = env.paths!.state;
    const file = path.join(dir, `.doctor-write-${process.pid}`);
    const size = 8 * 1024 * 1024;
    try {
      fs.mkdirSync(dir, { recursive: true });
      const buf = Buffer.alloc(1024 * 1024, 0x5a);
      const t0 = process.hrtime.bigint();
      const fd = fs.openSync(file, 'w');
      try {
        for (let i = 0; i < size / buf.length; i++) fs.writeSync(fd, buf);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      const mbps = size / 1024 / 1024 / s;
      // 4 cameras at 4 Mbit/s need 2 MB/s; below 10 MB/s a slow SD card or USB stick is likely
      const detail = `${mbps.toFixed(1)} MB/s (8 MB written with fsync in ${dir})`;
      if (mbps < 10) return { status: 'warn', detail, fix: { zh: '磁盘较慢：建议使用 SSD 或机械硬盘，不要用 SD 卡/U 盘', en: 'slow disk: use an SSD or hard disk, not an SD card or USB stick' } };
      return { status: 'ok', detail };
    } catch (err) {
      return {
        status: 'fail',
        detail: `cannot write in ${dir}: ${(err as Error).message}`,
        fix: { zh: `sudo chown -R classroom-agent: ${dir}，并确认磁盘已挂载且未只读`, en: `sudo chown -R classroom-agent: ${dir}, and check the disk is mounted read-write` },
      };
    } finally {
      fs.rmSync(file, { force: true });
    }
  },
};

/**
 * ffmpeg/ffprobe: the binary agent/ffmpeg/locate.ts finds — the very one the recorder runs
 * (CA_FFMPEG/CA_FFPROBE override, else the system's, else the npm-shipped static build).
 */
function toolCheck(tool: Tool): Check {
  return {
    id: tool,
    title: { zh: tool, en: tool },
    async run(env) {
      const fix = { zh: 'sudo apt-get install ffmpeg（或重新 npm install 以取回内置的 ffmpeg）', en: 'sudo apt-get install ffmpeg (or npm install again to get the bundled one back)' };
      // the recorder passes recorder.ffmpegPath / ffprobePath to locate(): so does the doctor
      const override = tool === 'ffmpeg' ? env.cfg?.recorder.ffmpegPath : env.cfg?.recorder.ffprobePath;
      let bin: string;
      try {
        bin = locate(tool, override);
      } catch (err) {
        return { status: 'fail', detail: (err as Error).message, fix };
      }
      const source = override ? `recorder.${tool}Path` : process.env[tool === 'ffmpeg' ? 'CA_FFMPEG' : 'CA_FFPROBE'] ? `CA_${tool.toUpperCase()}` : locateSource(tool);
      const r = await run(bin, ['-version']);
      if (r.ok) return { status: 'ok', detail: `${bin} (${source}): ${r.stdout.split('\n')[0].replace(/ Copyright.*/, '')}` };
      const why = r.missing ? 'not found' : `does not run: ${(r.stderr || 'no output').trim().split('\n')[0]}`;
      return {
        status: 'fail',
        detail: `${bin} (${source}) ${why}`,
        fix: override
          ? { zh: `修正配置 recorder.${tool}Path（${override}），或删除该项以使用系统的 ${tool}`, en: `fix recorder.${tool}Path (${override}) in the config, or remove it to use the system's ${tool}` }
          : fix,
      };
    },
  };
}

export const clockCheck: Check = {
  id: 'clock',
  title: { zh: '系统时钟同步', en: 'system clock synchronized' },
  async run() {
    const c = await clockSync();
    if (c.state === 'synchronized') return { status: 'ok', detail: `${c.source}: ${c.detail}` };
    const fix = {
      zh: '证据时间取决于系统时钟：sudo apt-get install systemd-timesyncd（或 chrony），并在 /etc/systemd/timesyncd.conf 配置可达的 NTP 服务器（如 ntp.aliyun.com）',
      en: 'evidence times depend on the clock: sudo apt-get install systemd-timesyncd (or chrony) and set a reachable NTP server (e.g. ntp.aliyun.com) in /etc/systemd/timesyncd.conf',
    };
    if (c.state === 'unsynchronized') return { status: 'fail', detail: `${c.source}: ${c.detail}`, fix };
    return { status: 'warn', detail: `unknown: ${c.detail}`, fix };
  },
};

export const alarmsCheck: Check = {
  id: 'alarms',
  title: { zh: '未处理告警', en: 'open alarms' },
  async run(env) {
    const skip = needsConfig(env);
    if (skip) return skip;
    const open = (await readStore(env.paths!.database, (s) => new AlarmRepo(s).open())) ?? [];
    if (!open.length) return { status: 'ok', detail: 'none' };
    const serious = open.some((a) => ['disk-full', 'store-suspicious', 'video-missing', 'module-failed'].includes(a.kind));
    return {
      status: serious ? 'fail' : 'warn',
      detail:
        open
          .slice(0, 5)
          .map((a) => `${a.kind} ${a.subject}: ${a.message}`)
          .join(' | ') + (open.length > 5 ? ` (+${open.length - 5})` : ''),
      fix: { zh: '按告警内容处理；处理后守护进程会自动清除告警', en: 'act on each alarm; the daemon clears it once the cause is gone' },
    };
  },
};

export const ffmpegCheck = toolCheck('ffmpeg');
export const ffprobeCheck = toolCheck('ffprobe');

/** How long doctor verifies the evidence log before it reports how far it got. */
const VERIFY_BUDGET_MS = 20_000;

export const chainCheck: Check = {
  id: 'evidence-log',
  title: { zh: '证据日志完整性校验', en: 'evidence log verification' },
  async run(env) {
    const skip = needsConfig(env);
    if (skip) return skip;
    const folder = keyFolderOf(env.cfg!);
    const r = await readStore(env.paths!.database, (s) =>
      verifyBox(evidenceLog(s), { vkey: readPublicKey(folder), origin: originOf(env.cfg!), localCheckpoint: readLocalCheckpoint(folder), deadline: Date.now() + VERIFY_BUDGET_MS }),
    );
    if (!r) return { status: 'ok', detail: 'no store yet' };
    const detail = `${r.entries} entries, ${r.rows} rows, ${r.files} segment file(s) checked; signed up to ${r.signedSize}`;
    if (r.problemCount) {
      const p = r.problems.slice(0, 3).map((x) => `${x.where}: ${x.detail}`);
      return {
        status: 'fail',
        detail: `${detail}; ${r.problemCount} problem(s): ${p.join('; ')}`,
        fix: {
          zh: '证据记录或录像文件被改动或删除：保留现场（不要修复），运行 classroom-agent verify 查看全部，并立即报告学校和维护人员',
          en: 'evidence rows or video files were changed or removed: keep everything as is (do not repair), run classroom-agent verify for the full list, and report to the school and the maintainers',
        },
      };
    }
    if (!r.complete) return { status: 'warn', detail: `${detail}; time budget reached before the end (run classroom-agent verify for a full check)` };
    return { status: 'ok', detail };
  },
};
