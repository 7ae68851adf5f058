/**
 * The page's browser bundle holds no Node built-in: esbuild bundles apps/web/src/main.ts and the
 * model worker src/worker.ts for platform=browser (the packages resolve through their
 * package.json "browser" export condition to their built browser entries), which fails on any
 * import of fs, path, crypto, worker_threads, node:* or the native addon. The control: core's Node entry does not bundle for the browser.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireBuilt } from './built.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const web = path.join(repo, 'apps/web');

/** Vite's `?url` imports (the wasm binaries) stay URLs; esbuild need not load them. */
const viteUrls: Plugin = {
  name: 'vite-url-imports',
  setup(b) {
    b.onResolve({ filter: /\?url$/ }, (args) => ({ path: args.path, external: true }));
  },
};

async function bundle(...entries: string[]): Promise<{ errors: string[]; metafile?: Metafile }> {
  try {
    const r = await build({
      entryPoints: entries,
      outdir: 'out', // not written
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: web,
      plugins: [viteUrls],
    });
    return { errors: [], metafile: r.metafile };
  } catch (e) {
    return { errors: ((e as { errors?: { text: string }[] }).errors ?? [{ text: String(e) }]).map((x) => x.text) };
  }
}

describe('the browser bundle', () => {
  beforeAll(() => {
    requireBuilt(repo);
  });

  it("bundles the page and its worker for platform=browser from the packages' browser entries, with no Node built-in", async () => {
    const { errors, metafile } = await bundle(path.join(web, 'src/main.ts'), path.join(web, 'src/worker.ts'));
    expect(errors).toEqual([]);
    const inputs = Object.keys(metafile!.inputs).map((f) => path.resolve(web, f));
    const rel = inputs.map((f) => path.relative(repo, f));
    for (const entry of [
      'packages/core/dist/browser/index.js',
      'packages/core/dist/browser/ops.js',
      'packages/tokenizers/dist/browser.js',
      'packages/speech/dist/browser.js',
      'packages/fuse/dist/browser.js',
      'packages/text/dist/index.js',
      'packages/common/dist/index.js',
      'packages/eval/dist/index.js',
    ])
      expect(rel).toContain(entry);
    // nothing of the Node entries, the native addon or the workers (text's, common's and eval's index are
    // browser-safe: eval's Node-only part is its ./node entry)
    expect(
      rel.filter(
        (f) =>
          /packages\/[a-z]+\/(dist\/(index|node|worker)\.js|native\/)/.test(f) && !/packages\/(text|common|eval)\/dist\/index\.js/.test(f),
      ),
    ).toEqual([]);
  });

  it("fails for a Node entry (the check can fail): core's dist/index.js imports node built-ins", async () => {
    const { errors } = await bundle(path.join(repo, 'packages/core/dist/index.js'));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toMatch(/"(node:)?(module|path|fs|os|url|worker_threads)"/);
  });
});
