import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from './paths.js';

/**
 * No event without both ends, no command without a handler: an event that production code emits
 * and nothing hears (or hears and nothing emits) is a promise the code does not keep, as the
 * province's `reload` once was (answered ok while nothing reloaded). Static, over the sources.
 */
const AGENT = path.join(PACKAGE_ROOT, 'agent');

/**
 * Events whose listener is not (yet) in agent/ production code, each with the reason. Keep it short.
 */
const NO_LISTENER_YET: Record<string, string> = {};

/** Production sources: not tests, not the test kits, not the simulators (except the shipped demo). */
function productionFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const rel = path.relative(AGENT, p);
      if (e.isDirectory()) {
        if (rel === 'testing' || (rel.startsWith('sim') && rel !== 'sim' && !rel.startsWith(path.join('sim', 'demo')))) continue;
        walk(p);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !/(kit|harness)\.ts$/.test(e.name)) {
        out.push(p);
      }
    }
  };
  walk(AGENT);
  return out;
}

function eventNames(): string[] {
  const src = fs.readFileSync(path.join(AGENT, 'core', 'events.ts'), 'utf8');
  const body = src.slice(src.indexOf('export interface AgentEvents'));
  return [...body.matchAll(/^ {2}'([a-z][a-z.-]*)':/gm)].map((m) => m[1]);
}

describe('the bus', () => {
  const files = productionFiles().map((f) => ({ f: path.relative(PACKAGE_ROOT, f), src: fs.readFileSync(f, 'utf8') }));
  const emitted = new Map<string, string[]>();
  const heard = new Map<string, string[]>();
  for (const { f, src } of files) {
    for (const m of src.matchAll(/\.emit\(\s*'([a-z][a-z.-]*)'/g)) emitted.set(m[1], [...(emitted.get(m[1]) ?? []), f]);
    // bus.on(owner, 'event', cb): the owner comes first, so a Node emitter's .on('exit') is not counted
    for (const m of src.matchAll(/\.on\(\s*[^'",()]+,\s*'([a-z][a-z.-]*)'/g)) heard.set(m[1], [...(heard.get(m[1]) ?? []), f]);
  }
  const names = eventNames();

  it('reads the event map and the sources', () => {
    expect(names.length).toBeGreaterThan(10);
    expect(names).toContain('segment.indexed');
    expect(files.length).toBeGreaterThan(100);
  });

  it('every event in the map has a production emitter and a production listener', () => {
    const problems: string[] = [];
    for (const e of names) {
      if (!emitted.has(e)) problems.push(`${e}: no production code emits it (remove it from agent/core/events.ts, or emit it)`);
      if (!heard.has(e) && !(e in NO_LISTENER_YET)) problems.push(`${e}: emitted by ${emitted.get(e)?.join(', ')} but no production code listens (wire a consumer, or remove the emit and the type)`);
    }
    for (const e of Object.keys(NO_LISTENER_YET)) if (!names.includes(e)) problems.push(`${e}: allowlisted but not in the event map`);
    expect(problems).toEqual([]);
  });

  it('nothing emits or listens for an event outside the map', () => {
    const stray = [...emitted.keys(), ...heard.keys()].filter((e) => e.includes('.') && !names.includes(e));
    expect(stray).toEqual([]);
  });
});

describe('commands from the province', () => {
  const contract = fs.readFileSync(path.join(AGENT, 'sync', 'contract.ts'), 'utf8');
  const union = contract.slice(contract.indexOf('export type CommandMsg'), contract.indexOf('export interface ReplyMsg'));
  const typed = [...union.matchAll(/cmd: '([a-z-]+)'/g)].map((m) => m[1]).sort();
  const schema = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'docs', 'schemas', 'v1', 'command.schema.json'), 'utf8')) as { properties: { cmd: { enum: string[] } } };
  const client = fs.readFileSync(path.join(AGENT, 'sync', 'client.ts'), 'utf8');
  const handler = client.slice(client.indexOf('private onCommand('));

  it('the type and the published schema accept the same commands', () => {
    expect(typed.length).toBeGreaterThan(3);
    expect([...schema.properties.cmd.enum].sort()).toEqual(typed);
  });

  it('each accepted command has a branch that replies or hands it to a module', () => {
    for (const cmd of typed) {
      const at = handler.indexOf(`if (c.cmd === '${cmd}')`);
      expect(at, `no handler for the command ${cmd} in SyncClient.onCommand`).toBeGreaterThan(0);
      // the branch's body, up to the next branch
      const body = handler.slice(at, handler.indexOf('} else', at) > 0 ? handler.indexOf('} else', at) : handler.indexOf('\n  }\n', at));
      expect(body, `the ${cmd} branch neither replies nor emits`).toMatch(/this\.reply\(|this\.ctx\.bus\.emit\(/);
      // what it emits must be heard, or the province waits for a reply that never comes
      for (const m of body.matchAll(/bus\.emit\(\s*'([a-z.-]+)'/g)) expect(fs.readFileSync(path.join(AGENT, 'inspection', 'inspection.ts'), 'utf8')).toContain(`'${m[1]}'`);
    }
  });
});
