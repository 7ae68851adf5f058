import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module without types (it runs under node alone, in `npm run version-packages`)
import { StampError, stampTowerVersions } from '../release/stamp-tower-versions.mjs';

type Change = { tower: string; from: string; to: string };
type Stamp = (root: string, options?: { check?: boolean }) => { package: string; changes: Change[] }[];
const stamp = stampTowerVersions as Stamp;

const put = (file: string, value: unknown): void => {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`);
};
const json = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

let roots: string[] = [];
afterEach(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
  roots = [];
});

/** A workspace with one tower package at `version` shipping weights `sha`, and a fused package trained on 0.1.0 / aaa. */
function workspace(version: string, sha: string): string {
  const root = mkdtempSync(path.join(tmpdir(), 'zipper-stamp-'));
  roots.push(root);
  const t = path.join(root, 'packages/checkpoints/text-small');
  put(path.join(t, 'package.json'), { name: '@x/checkpoint-text', version });
  put(path.join(t, 'tower/metadata.json'), { weights: { sha256: sha } });
  const z = path.join(root, 'packages/checkpoints/zipper-small');
  const ref = { name: '@x/checkpoint-text', version: '0.1.0', sha256: 'aaa' };
  const outside = { name: '@y/speech', version: '3.0.0', sha256: 'bbb' };
  put(path.join(z, 'package.json'), { name: '@x/zipped', version: '0.1.0', description: 'of @x/checkpoint-text@0.1.0 + @y/speech@3.0.0' });
  put(path.join(z, 'model/zipper.json'), {
    towers: [
      { name: 'text', checkpoint: ref },
      { name: 'speech', checkpoint: outside },
    ],
  });
  put(path.join(z, 'run.json'), { towers: { text: { ...ref }, speech: { ...outside } } });
  put(path.join(z, 'README.md'), '- @x/checkpoint-text@0.1.0\n- @x/checkpoint-text@0.1.0.\n- @x/checkpoint-text@0.1.01 stays\n');
  return root;
}

describe('stamp-tower-versions (npm run version-packages)', () => {
  it('writes a bumped tower package version into the fused package that was trained on its weights', () => {
    const root = workspace('0.2.0', 'aaa');
    const z = path.join(root, 'packages/checkpoints/zipper-small');
    const files = ['model/zipper.json', 'run.json', 'README.md', 'package.json'].map((f) => path.join(z, f));
    const before = files.map((f) => readFileSync(f, 'utf8'));
    expect(stamp(root, { check: true })).toEqual([
      { package: '@x/zipped', changes: [{ tower: '@x/checkpoint-text', from: '0.1.0', to: '0.2.0' }] },
    ]);
    expect(files.map((f) => readFileSync(f, 'utf8'))).toEqual(before); // --check writes nothing

    stamp(root);
    const towers = (json(path.join(z, 'model/zipper.json')) as { towers: { checkpoint: { version: string } }[] }).towers;
    expect(towers.map((t) => t.checkpoint.version)).toEqual(['0.2.0', '3.0.0']);
    const run = json(path.join(z, 'run.json')) as { towers: Record<string, { version: string }> };
    expect([run.towers['text']?.version, run.towers['speech']?.version]).toEqual(['0.2.0', '3.0.0']);
    expect(json(path.join(z, 'package.json'))['description']).toBe('of @x/checkpoint-text@0.2.0 + @y/speech@3.0.0');
    expect(readFileSync(path.join(z, 'README.md'), 'utf8')).toBe(
      '- @x/checkpoint-text@0.2.0\n- @x/checkpoint-text@0.2.0.\n- @x/checkpoint-text@0.1.01 stays\n',
    );
    expect(stamp(root, { check: true })).toEqual([{ package: '@x/zipped', changes: [] }]);
  });

  it('refuses a tower package whose weights are not the ones the fused model was trained on, naming both hashes', () => {
    const root = workspace('0.2.0', 'ccc');
    expect(() => stamp(root)).toThrow(StampError as ErrorConstructor);
    expect(() => stamp(root)).toThrow(/text.*aaa.*ccc/);
    const z = path.join(root, 'packages/checkpoints/zipper-small');
    expect(
      (json(path.join(z, 'model/zipper.json')) as { towers: { checkpoint: { version: string } }[] }).towers[0]?.checkpoint.version,
    ).toBe('0.1.0');
  });

  it("the repository's fused checkpoints name the versions and weights their workspace tower packages ship", () => {
    const records = stamp(path.resolve('.'), { check: true });
    expect(records.map((r) => r.package)).toContain('@zipper/checkpoint-zipper-small');
    expect(records.flatMap((r) => r.changes)).toEqual([]);
  });
});
