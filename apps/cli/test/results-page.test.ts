// The committed results page (docs/results.md and docs/results/) is what its own command at the
// top writes from the committed records (docs/runs/): nobody edits it by hand, and a record or a
// report change that moves a number shows up here. Runs from the repository root (vitest's cwd),
// as the page's command is written with repository-relative paths.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { filesUnder, repo as root, runZipper } from './fuse-helpers.js';

const page = path.join(root, 'docs', 'results.md');
const tmp = mkdtempSync(path.join(tmpdir(), 'zipper-results-page-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('docs/results.md', () => {
  it('is byte for byte what its own command writes from docs/runs', async () => {
    const command = readFileSync(page, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('zipper eval report '));
    expect(command).toBeDefined();
    const words = command!.split(' ').slice(1);
    const outAt = words.indexOf('--out');
    expect(words[outAt + 1]).toBe('docs/results.md');
    expect(process.cwd()).toBe(root);
    const out = path.join(tmp, 'results.md');
    const r = await runZipper([...words.slice(0, outAt), '--out', out, ...words.slice(outAt + 2)]);
    expect(r.code, r.stderr).toBe(0);

    const written = readFileSync(out, 'utf8').split('\n');
    const committed = readFileSync(page, 'utf8').split('\n');
    expect(written.length).toBe(committed.length);
    const at = committed.indexOf(command!);
    expect(written[at]).toBe(command!.replace('--out docs/results.md', `--out ${out}`));
    expect(written.filter((_, i) => i !== at)).toEqual(committed.filter((_, i) => i !== at));

    const assets = filesUnder(path.join(tmp, 'results'));
    const shipped = filesUnder(path.join(root, 'docs', 'results'));
    expect([...assets.keys()]).toEqual([...shipped.keys()]);
    for (const [f, bytes] of assets) expect(bytes.equals(shipped.get(f)!), f).toBe(true);
  }, 120_000);
});
