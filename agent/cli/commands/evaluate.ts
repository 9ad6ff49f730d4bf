import fs from 'node:fs';
import type { Command } from 'commander';
import { parseBundleText } from '../../compliance/bundle.js';
import { evaluate } from '../../compliance/engine.js';
import { loadProfile } from '../../config/profile.js';
import { InputError } from '../../core/errors.js';
import { action, EXIT, langOf } from '../context.js';
import { renderVerdict } from '../render.js';

export function register(program: Command): void {
  program
    .command('evaluate')
    .description('判定证据包是否符合补贴条件 / judge an evidence bundle (exit 0 eligible, 1 not eligible, 2 unusable input)')
    .argument('<bundle>', '证据包 JSON 文件，"-" 为标准输入 / evidence bundle JSON file, "-" for stdin')
    .option('--json', '输出 JSON / print the verdict as JSON')
    .option('--profile <name>', "规则配置（覆盖证据包中的 profile）/ rule profile, overrides the bundle's")
    .action(
      action((file: string, opts: { json?: boolean; profile?: string }, cmd: Command) => {
        let text: string;
        try {
          text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
        } catch (err) {
          throw new InputError(file, [{ path: '', message: `cannot read: ${(err as Error).message}` }]);
        }
        const evidence = parseBundleText(text, file);
        const profile = loadProfile(opts.profile ?? evidence.profile ?? 'henan-2025');
        const verdict = evaluate(evidence, profile);
        process.stdout.write(opts.json ? `${JSON.stringify(verdict, null, 1)}\n` : `${renderVerdict(verdict, langOf(cmd))}\n`);
        return verdict.eligible ? EXIT.OK : EXIT.NOT_ELIGIBLE;
      }),
    );
}
