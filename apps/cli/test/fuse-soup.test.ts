// `zipper fuse soup`: runs warm-started from one source averaged per weight (a model soup), on tiny
// towers and a tiny data build. The weights equal float32 arithmetic in --runs order bit for bit
// (held weights keep theirs), equal weights are the default, the result is a run that releases with
// every part's training command and the soup's in its card (no machine path), and what cannot be
// averaged (other starts, a fresh start, a soup, an unfinished run, bad weights) is a usage error
// that writes nothing.
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FuseRun } from '../src/fuse/run-file.js';
import { loadTrainedModel } from '../src/fuse/trained-model.js';
import { publishTinyTowers, runZipper, saveTinyTowers, summaryOf, tinyData, trainTinyFuse } from './fuse-helpers.js';

let data = '';
let towers = { text: '', speech: '' };
beforeAll(async () => {
  await initBackend();
  data = await tinyData('zipper-fuse-soup-test-');
  towers = await saveTinyTowers(data, data);
  publishTinyTowers(towers);
}, 240_000);
afterAll(() => rmSync(data, { recursive: true, force: true }));

const train = (out: string, ...more: string[]) => trainTinyFuse(towers, data, out, ...more);
const soup = (runs: string[], out: string, ...more: string[]) =>
  runZipper(['fuse', 'soup', '--runs', runs.join(','), '--out', out, ...more]);
const at = (name: string) => path.join(data, name);
const trainingBlock = (card: string) => /## Training\n\n```sh\n([\s\S]*?)\n```/.exec(card)![1]!.split('\n');

describe('zipper fuse soup', () => {
  it('writes W_1 x A + W_2 x B + W_3 x C bit for bit (held weights exact; equal weights by default) and releases with every command in the card', async () => {
    expect((await train(at('source'))).code).toBe(0);
    for (const [name, seed] of [
      ['a', '3'],
      ['b', '4'],
      ['c', '5'],
    ] as const)
      expect((await train(at(name), '--init-from', at('source'), '--seed', seed)).code).toBe(0);
    const parts = [at('a'), at('b'), at('c')];
    const r = await soup(parts, at('soup'), '--weights', '0.5,0.3,0.2');
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r)).toEqual({ runs: parts, weights: [0.5, 0.3, 0.2], out: at('soup') });

    const models = await Promise.all([...parts, at('soup')].map((d) => loadTrainedModel(d)));
    const f = Math.fround;
    try {
      const [a, b, c, s] = models;
      let moved = 0;
      let held = 0;
      for (const [k, p] of s!.model.params) {
        const [x, y, z] = [a, b, c].map((m) => m!.model.params.get(k)!.dataSync() as Float32Array);
        const want = x!.map((v, i) => (v === y![i] && v === z![i] ? v : f(f(f(v * f(0.5)) + f(y![i]! * f(0.3))) + f(z![i]! * f(0.2)))));
        expect(Array.from(p.dataSync()), k).toEqual(Array.from(want));
        if (x!.every((v, i) => v === y![i] && v === z![i])) held++;
        else moved++;
      }
      expect(moved).toBeGreaterThan(0); // the fusion weights trained
      expect(held).toBeGreaterThan(0); // the frozen text tower
    } finally {
      for (const m of models) m.dispose();
    }
    const made = JSON.parse(readFileSync(path.join(at('soup'), 'run.json'), 'utf8')) as FuseRun;
    const runs = parts.map((d) => JSON.parse(readFileSync(path.join(d, 'run.json'), 'utf8')) as FuseRun);
    expect(made).toEqual({
      ...runs[0],
      soup: {
        parts: runs.map((run, i) => ({
          run: parts[i],
          sha256: made.soup!.parts[i]!.sha256,
          weight: [0.5, 0.3, 0.2][i],
          command: run.command,
          initFrom: at('source'),
          data: run.data,
        })),
        command: `zipper fuse soup --runs ${parts.join(',')} --weights 0.5,0.3,0.2 --out ${at('soup')}`,
      },
    });
    expect(new Set(made.soup!.parts.map((p) => p.sha256)).size).toBe(3);
    expect(readFileSync(path.join(at('soup'), 'loss.jsonl'))).toEqual(readFileSync(path.join(at('a'), 'loss.jsonl')));

    // equal weights by default: two runs are interpolateWeights' midpoint, the command names no --weights
    const even = await soup([at('a'), at('b')], at('even'));
    expect(even.code, even.stderr).toBe(0);
    expect((JSON.parse(readFileSync(path.join(at('even'), 'run.json'), 'utf8')) as FuseRun).soup!.command).toBe(
      `zipper fuse soup --runs ${at('a')},${at('b')} --out ${at('even')}`,
    );

    const pkg = at('pkg-soup');
    const rel = await runZipper(['fuse', 'release', '--run', at('soup'), '--out', pkg]);
    expect(rel.code, rel.stderr).toBe(0);
    const card = readFileSync(path.join(pkg, 'README.md'), 'utf8');
    const commands = trainingBlock(card);
    expect(commands).toHaveLength(5);
    expect(commands[0]).toContain('--out INIT ');
    for (const i of [1, 2, 3]) {
      expect(commands[i]).toContain('--init-from INIT ');
      expect(commands[i]).toContain(`--out PART_${i} `);
    }
    expect(commands[4]).toBe('zipper fuse soup --runs PART_1,PART_2,PART_3 --weights 0.5,0.3,0.2 --out OUT');
    expect(card).toContain(
      "of the aligned pairs for speech recognition and synthesis, then averaged: 0.5 x PART_1 + 0.3 x PART_2 + 0.2 x PART_3 per weight (a model soup of PART_1, PART_2 and PART_3, the last stage's 3 runs from the same start).",
    );
    expect(card).toContain(
      "| weights | 0.5 x PART_1 + 0.3 x PART_2 + 0.2 x PART_3 per weight (`zipper fuse soup`); the rows below are PART_1's training |",
    );
    for (const [i, p] of made.soup!.parts.entries())
      expect(card).toContain(
        `\`PART_${i + 1}\`: the run trained by the command with \`--out PART_${i + 1}\`, from \`INIT\` (weights sha256 \`${p.sha256}\`).`,
      );
    expect(card).toMatch(
      /^`INIT`: the runs PART_1, PART_2 and PART_3 started from \(`--init-from`, weights sha256 `[0-9a-f]{64}`\), trained first by the command above it\.$/m,
    );
    expect(card + readFileSync(path.join(pkg, 'run.json'), 'utf8')).not.toContain(data);
    // the package's run.json keeps the card's lineage, so a run started from it names the whole chain
    expect((JSON.parse(readFileSync(path.join(pkg, 'run.json'), 'utf8')) as FuseRun).lineage!.commands).toEqual(commands);
    const next = at('next');
    const warm = await train(next, '--init-from', pkg, '--seed', '6');
    expect(warm.code, warm.stderr).toBe(0);
    const nextRel = await runZipper(['fuse', 'release', '--run', next, '--out', at('pkg-next')]);
    expect(nextRel.code, nextRel.stderr).toBe(0);
    const nextCommands = trainingBlock(readFileSync(path.join(at('pkg-next'), 'README.md'), 'utf8'));
    expect(nextCommands.slice(0, 5).map((c) => c.replace(/ --out \S+/, ''))).toEqual(
      commands.map((c) =>
        c
          .replace(/ --out \S+/, '')
          .replace(/\bINIT\b/g, 'INIT_2')
          .replace(/\bPART_(\d)/g, 'INIT_PART_$1'),
      ),
    );
    expect(nextCommands[4]).toBe('zipper fuse soup --runs INIT_PART_1,INIT_PART_2,INIT_PART_3 --weights 0.5,0.3,0.2 --out INIT');
  }, 240_000);

  it('refuses other starts, a fresh start, a soup, an unfinished run, one run, bad weights and --out among --runs, writing nothing; a soup is no --init-from or interpolation source', async () => {
    const fail = async (runs: string[], out: string, more: string[], message: RegExp) => {
      const r = await soup(runs, at(out), ...more);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    };
    await fail([at('a'), at('source')], 'x1', [], /source started from a fresh initialization \(no --init-from\)/);
    expect((await train(at('other'), '--init-from', at('a'), '--seed', '7')).code).toBe(0);
    await fail([at('a'), at('other')], 'x2', [], /other started from other weights \(sha256 [0-9a-f]{12}\.\.\., .*\/a\) than .*\/a/);
    await fail([at('a'), at('soup')], 'x3', [], /soup is a soup already/);
    await fail([at('a')], 'x4', [], /--runs needs at least two run folders/);
    await fail([at('a'), at('b')], 'x5', ['--weights', '0.5,0.6'], /--weights must sum to 1, got 0\.5 \+ 0\.6 = 1\.1/);
    await fail([at('a'), at('b')], 'x6', ['--weights', '1'], /--weights gives 1 weights for 2 runs/);
    await fail([at('a'), at('b')], 'x7', ['--weights', '1.5,-0.5'], /--weights must be a number in \[0, 1\], got "1\.5"/);
    await fail([at('a'), at('a')], 'x8', [], /--runs names a folder twice/);
    await fail([at('a'), at('b')], 'b', [], /--out must be a new directory, not one of --runs/);
    // a run stopped early (its loss log short of the schedule)
    cpSync(at('b'), at('short'), { recursive: true });
    const log = readFileSync(path.join(at('short'), 'loss.jsonl'), 'utf8')
      .trimEnd()
      .split('\n');
    writeFileSync(path.join(at('short'), 'loss.jsonl'), `${log.filter((l) => !l.includes('"step":6')).join('\n')}\n`);
    await fail([at('a'), at('short')], 'x9', [], /short stopped at step 5 of its 6-step schedule/);
    // a run on another tower (its run.json says so; --init-from itself refuses one, so this is a copy edited)
    cpSync(at('b'), at('retowered'), { recursive: true });
    const b = JSON.parse(readFileSync(path.join(at('b'), 'run.json'), 'utf8')) as FuseRun;
    const retowered = { ...b, towers: { ...b.towers, speech: { ...b.towers.speech, sha256: '0'.repeat(64) } } };
    writeFileSync(path.join(at('retowered'), 'run.json'), JSON.stringify(retowered));
    await fail([at('a'), at('retowered')], 'x12', [], /retowered has another speech tower \(sha256 000000000000\.\.\.\) than .*\/a/);
    for (const x of ['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8', 'x9', 'x12']) expect(readdirSync(data)).not.toContain(x);

    const warm = await train(at('x10'), '--init-from', at('soup'));
    expect(warm.code).toBe(2);
    expect(warm.stderr).toMatch(/is a soup of runs \(zipper fuse soup\), not one run: release it/);
    const ip = await runZipper(['fuse', 'interpolate', '--run', at('soup'), '--alpha', '0.5', '--out', at('x11')]);
    expect(ip.code).toBe(2);
    expect(ip.stderr).toMatch(/is a soup of runs \(zipper fuse soup\), with no one start to interpolate toward/);
  }, 240_000);
});
