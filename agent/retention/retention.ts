import type { AgentContext } from '../core/context.js';
import type { Module } from '../core/module.js';

/** Retention (filled in next). */
export class Retention implements Module {
  readonly name = 'retention';
  constructor(private ctx: AgentContext) {}
  async start(): Promise<void> {
    void this.ctx;
  }
  async stop(): Promise<void> {}
}
