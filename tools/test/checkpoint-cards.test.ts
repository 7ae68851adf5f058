/**
 * The shipped checkpoint packages (packages/checkpoints/*): each model card states what its run.json
 * and weights say (command, data build, counts, steps, tokens, epochs, parameters; a zipped model's
 * towers by the sha256 their own packages ship), the stored weights match their metadata's sha256,
 * and every package stays under the ~20 MB a package may weigh. A hand edit of a card or a swapped
 * file that disagrees with the run fails here.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const base = 'packages/checkpoints';
const read = (dir: string, f: string) => readFileSync(path.join(base, dir, f), 'utf8');
const json = <T>(dir: string, f: string) => JSON.parse(read(dir, f)) as T;
const n = (s: string) => Number(s.replace(/,/g, ''));
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Bytes of every file under `dir`. */
function bytesUnder(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? bytesUnder(p) : statSync(p).size;
  }
  return total;
}

/** The card's `| label | value |` row (the first), as its value. */
function row(card: string, label: string): string {
  const m = new RegExp(`^\\| ${label} \\| (.*) \\|$`, 'm').exec(card);
  expect(m, `the card's "${label}" row`).not.toBeNull();
  return m![1]!;
}

interface PretrainRun {
  command: string;
  modality: string;
  config: { seqLen: number; batchSize: number; steps: number };
  data: { buildSha256: string };
  counts: { trainItems: number; heldOutItems: number; trainTokens: number; heldOutTokens: number };
  tokensPerStep: number;
  parameters: number;
}

describe('shipped checkpoint packages', () => {
  for (const dir of ['text-small', 'speech-small', 'speech-small-2048']) {
    it(`${dir}: the card states its run.json, the weights match their sha256, under 20 MB`, () => {
      const run = json<PretrainRun>(dir, 'run.json');
      const card = read(dir, 'README.md');
      expect(card).toContain(`\n${run.command}\n`);
      expect(row(card, 'data')).toContain(run.data.buildSha256);
      const steps = /^([\d,]+)(?: of the ([\d,]+)-step schedule.*?)? x ([\d,]+) tokens \(seq (\d+) x batch (\d+)\)$/.exec(
        row(card, 'steps'),
      );
      expect(steps, row(card, 'steps')).not.toBeNull();
      const done = n(steps![1]!);
      expect(n(steps![2] ?? steps![1]!)).toBe(run.config.steps);
      expect([n(steps![3]!), Number(steps![4]), Number(steps![5])]).toEqual([run.tokensPerStep, run.config.seqLen, run.config.batchSize]);
      expect(run.tokensPerStep).toBe(run.config.seqLen * run.config.batchSize);
      const seen = /^([\d,]+) = ([\d.]+) epochs$/.exec(row(card, 'tokens seen'));
      expect(n(seen![1]!)).toBe(done * run.tokensPerStep);
      expect(seen![2]).toBe(((done * run.tokensPerStep) / run.counts.trainTokens).toFixed(2));
      expect(row(card, 'training data')).toMatch(
        new RegExp(`^${run.counts.trainItems.toLocaleString('en-US')} .*, ${run.counts.trainTokens.toLocaleString('en-US')} tokens$`),
      );
      expect(row(card, 'held out')).toMatch(
        new RegExp(`^${run.counts.heldOutItems.toLocaleString('en-US')} .*, ${run.counts.heldOutTokens.toLocaleString('en-US')} tokens$`),
      );
      expect(card).toContain(`${run.parameters.toLocaleString('en-US')} parameters`);
      const meta = json<{ weights: { sha256: string } }>(dir, 'tower/metadata.json');
      expect(sha256(path.join(base, dir, 'tower', 'model.safetensors'))).toBe(meta.weights.sha256);
      expect(bytesUnder(path.join(base, dir))).toBeLessThan(20 * 1024 * 1024);
    });
  }

  it('zipper-small: the card names each tower by the version and sha256 its package ships; its command is run.json; under 20 MB', () => {
    const run = json<{ command: string; towers: Record<string, { name: string; version: string; sha256: string }> }>(
      'zipper-small',
      'run.json',
    );
    const card = read('zipper-small', 'README.md');
    const deps = json<{ dependencies: Record<string, string> }>('zipper-small', 'package.json').dependencies;
    expect(Object.keys(run.towers).sort()).toEqual(['speech', 'text']);
    // each tower's package, found among the shipped ones by its name
    const byName = new Map(readdirSync(base).map((d) => [json<{ name: string }>(d, 'package.json').name, d]));
    for (const [m, t] of Object.entries(run.towers)) {
      const dir = byName.get(t.name)!;
      expect(dir, `${m}: ${t.name} is one of ${base}`).toBeDefined();
      const pkg = json<{ name: string; version: string }>(dir, 'package.json');
      expect([t.name, t.version]).toEqual([pkg.name, pkg.version]);
      expect(t.sha256).toBe(json<{ weights: { sha256: string } }>(dir, 'tower/metadata.json').weights.sha256);
      expect(card).toContain(`| ${m} | \`${t.name}@${t.version}\` | \`${t.sha256}\` |`);
      expect(card).toContain(`- ${t.name}@${t.version}\n`); // front matter: base_model
      expect(deps[t.name]).toBe(t.version);
    }
    expect(card).toContain(`\n${run.command}`);
    const meta = json<{ weights: { sha256: string; file: string } }>('zipper-small', 'model/zipper.json');
    expect(sha256(path.join(base, 'zipper-small', 'model', meta.weights.file))).toBe(meta.weights.sha256);
    expect(bytesUnder(path.join(base, 'zipper-small'))).toBeLessThan(20 * 1024 * 1024);
  });
});
