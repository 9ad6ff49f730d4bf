import fs from 'node:fs';
import { resolveFaceKey } from '../vision/keysource.js';
import { needsConfig, type Check } from './check.js';

const APART = {
  zh: '把密钥移出状态目录：sudo ./scripts/install.sh（安装时自动迁移到 /etc/classroom-agent/vision.key，以 systemd 凭据交给服务），或在配置中设 vision.keyFile 指向状态目录以外、只有服务用户可读的文件；并单独备份（docs/checkin-security.md §5）',
  en: 'move the key out of the state folder: sudo ./scripts/install.sh (moves it to /etc/classroom-agent/vision.key, handed to the service as a systemd credential), or set vision.keyFile to a file outside the state folder only the service user can read; back it up separately (docs/checkin-security.md §5)',
};

/**
 * Where the face key is. Warns when it sits inside the state folder (a dev or demo run without
 * systemd, or a keyFile pointing there): one copy of that folder then carries both the sealed
 * face data and the key that opens it.
 */
export const faceKeyCheck: Check = {
  id: 'face-key',
  title: { zh: '人脸密钥存放位置', en: 'face key location' },
  async run(env) {
    const skip = needsConfig(env);
    if (skip) return skip;
    const k = resolveFaceKey(env.cfg!);
    const exists = fs.existsSync(k.file);
    const where = `${k.file} (${k.source}${exists ? '' : ', not created yet'})`;
    if (!exists && !env.cfg!.vision.enabled) return { status: 'ok', detail: `${where}; vision disabled` };
    if (k.insideState) return { status: 'warn', detail: `${where}: inside the state folder, beside the face data it opens`, fix: APART };
    return { status: 'ok', detail: `${where}: apart from the state folder` };
  },
};
