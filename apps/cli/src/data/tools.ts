import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runProgram } from '@zipper/common/node';
import { MissingToolError, SynthesisError } from './errors.js';

/** Programs the builder runs, the Debian package of each, and what for. */
export const TOOLS = {
  flite: { debianPackage: 'flite', purpose: 'speech synthesis (flite voices)' },
  'espeak-ng': { debianPackage: 'espeak-ng', purpose: 'speech synthesis (espeak-ng voices)' },
  sox: { debianPackage: 'sox', purpose: 'resampling to 16 kHz mono 16-bit and tempo changes' },
  bible: { debianPackage: 'bible-kjv', purpose: 'reading the King James Bible text' },
} as const;

export type ToolName = keyof typeof TOOLS;

/** Absolute path of `tool` on `env.PATH`; throws MissingToolError naming the Debian package. */
export function requireTool(tool: ToolName, env: NodeJS.ProcessEnv = process.env): string {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, tool);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  const t = TOOLS[tool];
  throw new MissingToolError(tool, t.debianPackage, t.purpose);
}

/** Resolves every tool in `tools` up front, so a build fails before doing any work. */
export function requireTools(tools: readonly ToolName[], env: NodeJS.ProcessEnv = process.env): Record<ToolName, string> {
  const out: Partial<Record<ToolName, string>> = {};
  for (const t of tools) out[t] = requireTool(t, env);
  return out as Record<ToolName, string>;
}

/** Runs a program (no shell), resolves to its stdout; rejects with its stderr on failure. */
export async function run(bin: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Buffer> {
  let r;
  try {
    r = await runProgram(bin, args, env);
  } catch (e) {
    throw new SynthesisError(`${bin} failed to start: ${(e as Error).message}`);
  }
  if (r.code === 0) return r.stdout;
  throw new SynthesisError(`${bin} ${args.join(' ')} exited with ${r.code ?? r.signal}: ${r.stderr.toString().trim().slice(0, 400)}`);
}
