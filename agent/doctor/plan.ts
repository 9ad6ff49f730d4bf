import { adviceLines, gb } from '../recorder/plantext.js';
import { gatherPlan } from '../recorder/planinput.js';
import { type Check, needsConfig, readStore } from './check.js';
import { existingAncestor } from './system.js';

/**
 * Will the retention period's video fit on the video disk? `classroom-agent plan` without its
 * probes (doctor stays quick): measured bitrates over retention.rateWindowDays and the timetable.
 */
export const planCheck: Check = {
  id: 'plan',
  title: { zh: '录像容量计划', en: 'recording plan' },
  async run(env) {
    const skip = needsConfig(env);
    if (skip) return skip;
    const cfg = env.cfg!;
    const paths = env.paths!;
    const g = await readStore(paths.database, (s) => gatherPlan(s, cfg, { now: env.now, days: cfg.retention.rateWindowDays, videoDir: existingAncestor(paths.video), probe: false }));
    if (!g) return { status: 'warn', detail: 'no evidence store yet', fix: { zh: '导入课表后运行 classroom-agent plan', en: 'import the timetable, then run classroom-agent plan' } };
    const r = g.result;
    const detail = `needed ${gb(r.neededBytes)} GB for ${g.input.retentionYears} years; the agent may use ${gb(r.capacityBytes)} GB`;
    if (r.status === 'ok') return { status: 'ok', detail };
    return { status: r.status, detail, fix: { zh: adviceLines(r, 'zh').join('；'), en: adviceLines(r, 'en').join('; ') } };
  },
};
