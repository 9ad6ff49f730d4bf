import type { TerminalConfig } from '../config/schema.js';
import type { Protocol } from './types.js';

/** Configured terminals by protocol, and by the serial a terminal announces itself with. */
export class Terminals {
  constructor(readonly list: TerminalConfig[]) {}

  byId(id: string): TerminalConfig | undefined {
    return this.list.find((t) => t.id === id && t.enabled);
  }

  /** ZKTeco announces SN=<serial>; the terminal's id doubles as serial when none is configured. */
  bySerial(protocol: Protocol, sn: string): TerminalConfig | undefined {
    return this.list.find((t) => t.enabled && t.protocol === protocol && (t.serial ?? t.id) === sn);
  }

  ofProtocol(p: Protocol): TerminalConfig[] {
    return this.list.filter((t) => t.enabled && t.protocol === p);
  }
}
