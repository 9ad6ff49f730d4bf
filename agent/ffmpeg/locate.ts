import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { findCommand } from '../core/preflight.js';

/**
 * Where ffmpeg and ffprobe live. The system's binary first (Debian's 5.1 is maintained and
 * matches the libraries the technician can update with apt), else the static build shipped
 * inside @ffmpeg-installer/@ffprobe-installer (installs offline, works on a bare box).
 * This file and its siblings are the only place that knows about ffmpeg binaries.
 */
export type Tool = 'ffmpeg' | 'ffprobe';

const cache = new Map<string, string>();

// PATH, then the usual bin folders: one lookup for every command (core/preflight.ts)
const onPath = (name: string): string | undefined => findCommand(name);

function fromNpm(tool: Tool): string | undefined {
  const req = createRequire(import.meta.url);
  try {
    const mod = req(tool === 'ffmpeg' ? '@ffmpeg-installer/ffmpeg' : '@ffprobe-installer/ffprobe') as { path: string };
    fs.accessSync(mod.path, fs.constants.X_OK);
    return mod.path;
  } catch {
    return undefined;
  }
}

/** Absolute path of the tool; `override` (config or env CA_FFMPEG / CA_FFPROBE) wins. */
export function locate(tool: Tool, override?: string): string {
  const explicit = override ?? process.env[tool === 'ffmpeg' ? 'CA_FFMPEG' : 'CA_FFPROBE'];
  if (explicit) return explicit;
  const hit = cache.get(tool);
  if (hit) return hit;
  const found = onPath(tool) ?? fromNpm(tool);
  if (!found) throw new Error(`${tool} not found: install it (apt-get install ffmpeg) or reinstall npm dependencies`);
  cache.set(tool, found);
  return found;
}

/** Where the tool came from, for `doctor` and logs. */
export function locateSource(tool: Tool): 'system' | 'npm' | 'missing' {
  if (onPath(tool)) return 'system';
  return fromNpm(tool) ? 'npm' : 'missing';
}
