/**
 * Vite plugin: serves the model the page runs under /models/ (dev server) and copies it into a
 * static build. The model is a checkpoint package or a `zipper fuse train` run directory
 * (ZIPPER_WEB_MODEL: a directory or package name; default @zipper/checkpoint-zipper-small):
 *
 *   /models/index.json   where everything is: { ok, run, towers: { text, speech } } (URLs, names,
 *                        versions), or { ok: false, error } saying what is missing
 *   /models/run/...      the run directory (run.json, model/zipper.json, model/model.safetensors)
 *   /models/text/...     the text tower's directory (tower/, tokenizer/), as run.json names it
 *   /models/speech/...   the speech tower's directory
 *
 * Towers are found as the CLI finds them: the directory run.json recorded if it exists, else the
 * location as given (a package name) resolved from the run directory (core's resolveModelLocation).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { resolveModelLocation } from '@zipper/core';
import { WORD_LM_FILE } from '@zipper/text';
import type { Plugin } from 'vite';

export const DEFAULT_MODEL = '@zipper/checkpoint-zipper-small';
const ROOTS = ['run', 'text', 'speech'] as const;
type Root = (typeof ROOTS)[number];

interface Located {
  readonly dirs: Readonly<Record<Root, string>>;
  readonly index: Record<string, unknown>;
}

function packageOf(dir: string): { name: string; version: string | null } {
  try {
    const p = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
    if (typeof p.name === 'string') return { name: p.name, version: p.version ?? null };
  } catch {
    // not a package: named by its directory
  }
  return { name: path.basename(dir), version: null };
}

/** Finds the run and its towers; an Error saying what to do when something is missing. */
export function locateModel(model: string, from: string): Located {
  const run = resolveModelLocation(model, { from });
  const runFile = path.join(run, 'run.json');
  if (!existsSync(runFile))
    throw new Error(`${run} has no run.json; point ZIPPER_WEB_MODEL at a \`zipper fuse train\` run or the zipped checkpoint package`);
  const towers =
    (JSON.parse(readFileSync(runFile, 'utf8')) as { towers?: Record<string, { dir?: string; location?: string }> }).towers ?? {};
  const towerDir = (m: 'text' | 'speech'): string => {
    const t = towers[m];
    if (!t) throw new Error(`${runFile} names no ${m} tower`);
    if (t.dir && existsSync(path.join(t.dir, 'tower'))) return t.dir;
    return resolveModelLocation(t.location ?? t.dir ?? '', { from: run });
  };
  const dirs = { run, text: towerDir('text'), speech: towerDir('speech') };
  const entry = (root: Root) => ({ url: `/models/${root}/`, ...packageOf(dirs[root]) });
  return { dirs, index: { ok: true, run: entry('run'), towers: { text: entry('text'), speech: entry('speech') } } };
}

/** The files of one root that the page reads. */
function filesOf(root: Root, dir: string): string[] {
  const under = (sub: string): string[] =>
    existsSync(path.join(dir, sub))
      ? readdirSync(path.join(dir, sub))
          .filter((f) => statSync(path.join(dir, sub, f)).isFile())
          .map((f) => `${sub}/${f}`)
      : [];
  // a text tower package may hold its word LM (WORD_LM_FILE, zipper lm build) for lexicon decoding
  const lm = root === 'text' && existsSync(path.join(dir, WORD_LM_FILE)) ? [WORD_LM_FILE] : [];
  return root === 'run' ? ['run.json', ...under('model')] : [...under('tower'), ...under('tokenizer'), ...lm];
}

export function zipperModels(options: { model?: string; from: string }): Plugin {
  const model = options.model ?? DEFAULT_MODEL;
  let located: Located | Error | undefined;
  const locate = (): Located | Error => {
    try {
      return locateModel(model, options.from);
    } catch (e) {
      return e as Error;
    }
  };
  const indexJson = (l: Located | Error) =>
    JSON.stringify(
      l instanceof Error
        ? { ok: false, model, error: `${l.message} (to serve another model: ZIPPER_WEB_MODEL=DIR|PACKAGE npm run web)` }
        : { model, ...l.index },
    );
  return {
    name: 'zipper-models',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = decodeURIComponent((req.url ?? '').split('?')[0]!);
        if (!url.startsWith('/models/')) return next();
        located = locate(); // each page load sees the model as it is now (e.g. installed meanwhile)
        if (url === '/models/index.json') {
          res.setHeader('Content-Type', 'application/json');
          res.end(indexJson(located));
          return;
        }
        const m = /^\/models\/(run|text|speech)\/(.+)$/.exec(url);
        if (!m || located instanceof Error) {
          res.statusCode = 404;
          res.end();
          return;
        }
        const root = located.dirs[m[1] as Root];
        const file = path.resolve(root, m[2]!);
        const rel = path.relative(root, file);
        if (rel.startsWith('..') || path.isAbsolute(rel) || !existsSync(file) || !statSync(file).isFile()) {
          res.statusCode = 404;
          res.end();
          return;
        }
        const bytes = readFileSync(file);
        res.setHeader('Content-Type', file.endsWith('.json') ? 'application/json' : 'application/octet-stream');
        res.setHeader('Content-Length', String(bytes.length));
        res.end(bytes);
      });
    },
    generateBundle() {
      located = locate();
      this.emitFile({ type: 'asset', fileName: 'models/index.json', source: indexJson(located) });
      if (located instanceof Error) {
        this.warn(`no model in the build: ${located.message}`);
        return;
      }
      for (const root of ROOTS)
        for (const f of filesOf(root, located.dirs[root]))
          this.emitFile({ type: 'asset', fileName: `models/${root}/${f}`, source: readFileSync(path.join(located.dirs[root], f)) });
    },
  };
}
