// `zipper fuse interpolate`: a warm-started run's weights moved back toward its --init-from source,
// (1 - A) x INIT + A x RUN per weight, on tiny towers and a tiny data build. The weights equal that
// blend computed here in float32 bit for bit (held weights keep theirs), A = 1 is the run, the
// result is a run that releases with both commands in its card, and bad inputs are usage errors.
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FuseRun } from '../src/fuse/run-file.js';
import { loadTrainedModel } from '../src/fuse/trained-model.js';
import { publishTinyTowers, runZipper, saveTinyTowers, summaryOf, tinyData, trainTinyFuse, weightsOf } from './fuse-helpers.js';

let data = '';
let towers = { text: '', speech: '' };
beforeAll(async () => {
  await initBackend();
  data = await tinyData('zipper-fuse-interpolate-test-');
  towers = await saveTinyTowers(data, data);
  publishTinyTowers(towers);
}, 240_000);
afterAll(() => rmSync(data, { recursive: true, force: true }));

const train = (out: string, ...more: string[]) => trainTinyFuse(towers, data, out, ...more);
const interpolate = (run: string, alpha: string, out: string) =>
  runZipper(['fuse', 'interpolate', '--run', run, '--alpha', alpha, '--out', out]);
const files = (dir: string) =>
  new Map(
    readdirSync(path.join(dir, 'model'))
      .filter((f) => f.endsWith('.safetensors'))
      .map((f) => [f, readFileSync(path.join(dir, 'model', f))]),
  );

describe('zipper fuse interpolate', () => {
  it('writes (1 - A) x INIT + A x RUN bit for bit; A = 1 is the run; the result releases with TUNED and its command in the card', async () => {
    const source = path.join(data, 'run-source');
    const tuned = path.join(data, 'run-tuned');
    expect((await train(source)).code).toBe(0);
    expect((await train(tuned, '--init-from', source, '--seed', '3')).code).toBe(0);
    const mid = path.join(data, 'run-mid');
    const r = await interpolate(tuned, '0.25', mid);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r)).toEqual({ alpha: 0.25, out: mid });

    const [s, t, m] = [await loadTrainedModel(source), await loadTrainedModel(tuned), await loadTrainedModel(mid)];
    try {
      let moved = 0;
      let held = 0;
      for (const [k, p] of m.model.params) {
        const a = s.model.params.get(k)!.dataSync() as Float32Array;
        const b = t.model.params.get(k)!.dataSync() as Float32Array;
        // float32 arithmetic as the engine does it: round each product, then the sum
        const want = a.map((x, i) => (x === b[i] ? x : Math.fround(Math.fround(x * 0.75) + Math.fround(b[i]! * 0.25))));
        expect(Array.from(p.dataSync()), k).toEqual(Array.from(want));
        if (a.every((x, i) => x === b[i])) held++;
        else moved++;
      }
      expect(moved).toBeGreaterThan(0); // the fusion weights trained
      expect(held).toBeGreaterThan(0); // the frozen text tower
    } finally {
      for (const x of [s, t, m]) x.dispose();
    }
    const midRun = JSON.parse(readFileSync(path.join(mid, 'run.json'), 'utf8')) as FuseRun;
    const tunedRun = JSON.parse(readFileSync(path.join(tuned, 'run.json'), 'utf8')) as FuseRun;
    expect(midRun).toEqual({
      ...tunedRun,
      interpolate: {
        alpha: 0.25,
        run: tuned,
        sha256: midRun.interpolate!.sha256,
        command: `zipper fuse interpolate --run ${tuned} --alpha 0.25 --out ${mid}`,
      },
    });
    expect(readFileSync(path.join(mid, 'loss.jsonl'))).toEqual(readFileSync(path.join(tuned, 'loss.jsonl')));

    const whole = path.join(data, 'run-one');
    expect((await interpolate(tuned, '1', whole)).code).toBe(0);
    expect(files(whole)).toEqual(files(tuned));
    expect(files(mid)).not.toEqual(files(tuned));

    const pkg = path.join(data, 'pkg-mid');
    const rel = await runZipper(['fuse', 'release', '--run', mid, '--out', pkg]);
    expect(rel.code, rel.stderr).toBe(0);
    const card = readFileSync(path.join(pkg, 'README.md'), 'utf8');
    const commands = /## Training\n\n```sh\n([\s\S]*?)\n```/.exec(card)![1]!.split('\n');
    expect(commands).toHaveLength(3);
    expect(commands[1]).toContain('--init-from INIT ');
    expect(commands[1]).toContain('--out TUNED ');
    expect(commands[2]).toBe('zipper fuse interpolate --run TUNED --alpha 0.25 --out OUT');
    expect(card).toContain(
      'of the aligned pairs for speech recognition and synthesis, then interpolated: 0.75 x the weights the last stage started from + 0.25 x its own (the last command).',
    );
    expect(card).toContain(`\`TUNED\`: the run trained by the command above it; OUT holds its weights interpolated toward \`INIT\`'s`);
    expect(card).toContain(
      "| weights | (1 - 0.25) x INIT + 0.25 x TUNED per weight (`zipper fuse interpolate`); the rows below are TUNED's training |",
    );
    expect(card).toMatch(
      /^`INIT`: the run TUNED started from \(`--init-from`, weights sha256 `[0-9a-f]{64}`\), trained first by the command above it\.$/m,
    );
    expect(card + readFileSync(path.join(pkg, 'run.json'), 'utf8')).not.toContain(data);
    // the run folder copied elsewhere releases the same card: the folder its interpolation wrote is OUT too
    const moved = path.join(data, 'moved', 'run-mid');
    cpSync(mid, moved, { recursive: true });
    const relMoved = await runZipper(['fuse', 'release', '--run', moved, '--out', path.join(data, 'pkg-moved')]);
    expect(relMoved.code, relMoved.stderr).toBe(0);
    const movedCard = readFileSync(path.join(data, 'pkg-moved', 'README.md'), 'utf8');
    expect(/## Training\n\n```sh\n([\s\S]*?)\n```/.exec(movedCard)![1]!.split('\n')).toEqual(commands);
    expect(movedCard + readFileSync(path.join(data, 'pkg-moved', 'run.json'), 'utf8')).not.toContain(data);
    // the package holds the interpolated weights (float16)
    const shipped = weightsOf(
      path.join(
        pkg,
        'model',
        readdirSync(path.join(pkg, 'model')).find((f) => f.endsWith('.safetensors'))!,
      ),
    );
    expect(shipped.size).toBeGreaterThan(0);
  }, 240_000);

  it('a warm start from an interpolated run folder releases with the training and the interpolation before it', async () => {
    const mid = path.join(data, 'run-mid'); // from the first test: run-tuned interpolated toward run-source
    const next = path.join(data, 'run-next');
    expect((await train(next, '--init-from', mid, '--seed', '5')).code).toBe(0);
    const pkg = path.join(data, 'pkg-next');
    const rel = await runZipper(['fuse', 'release', '--run', next, '--out', pkg]);
    expect(rel.code, rel.stderr).toBe(0);
    const card = readFileSync(path.join(pkg, 'README.md'), 'utf8');
    const commands = /## Training\n\n```sh\n([\s\S]*?)\n```/.exec(card)![1]!.split('\n');
    expect(commands).toHaveLength(4);
    expect(commands[0]).toContain('--out INIT_2 ');
    expect(commands[1]).toContain('--init-from INIT_2 ');
    expect(commands[1]).toContain('--out INIT_TUNED ');
    expect(commands[2]).toBe('zipper fuse interpolate --run INIT_TUNED --alpha 0.25 --out INIT');
    expect(commands[3]).toContain('--init-from INIT ');
    expect(commands[3]).toContain('--out OUT ');
    const tunedSha = (JSON.parse(readFileSync(path.join(mid, 'run.json'), 'utf8')) as FuseRun).interpolate!.sha256;
    expect(card).toContain(
      `: \`INIT_TUNED\`, trained first by the command two above it, interpolated toward \`INIT_2\`'s by the command above it: (1 - 0.25) x INIT_2 + 0.25 x INIT_TUNED per weight (weights sha256 of INIT_TUNED \`${tunedSha}\`).`,
    );
    expect(card).toMatch(
      /^`INIT_2`: the run INIT_TUNED started from \(`--init-from`, weights sha256 `[0-9a-f]{64}`\), trained first by the command above it\.$/m,
    );
    expect(card + readFileSync(path.join(pkg, 'run.json'), 'utf8')).not.toContain(data);
  }, 240_000);

  it('refuses a run without --init-from, an interpolation, a --keep-best copy, changed source weights, --out = --run and an alpha outside [0, 1]', async () => {
    const source = path.join(data, 'run-source'); // from the test above
    const tuned = path.join(data, 'run-tuned');
    const mid = path.join(data, 'run-mid');
    const fail = async (argv: [string, string, string], message: RegExp) => {
      const r = await interpolate(...argv);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    };
    await fail([source, '0.5', path.join(data, 'x1')], /started from a fresh initialization \(no --init-from\)/);
    await fail([mid, '0.5', path.join(data, 'x2')], /is an interpolation already/);
    await fail([tuned, '0.5', tuned], /--out must be a new directory/);
    const best = path.join(data, 'run-best');
    expect((await train(best, '--init-from', source, '--keep-best', 'total', '--eval-every', '3')).code).toBe(0);
    await fail([path.join(best, 'best'), '0.5', path.join(data, 'x5')], /is the --keep-best copy of a run \(step \d+\)/);
    await fail([tuned, '1.5', path.join(data, 'x3')], /--alpha must be a number in \[0, 1\], got "1.5"/);
    // the source's weights changed since the run started (here: a copy of both whose source is retrained)
    const copy = path.join(data, 'copy');
    mkdirSync(copy);
    cpSync(tuned, path.join(copy, 'tuned'), { recursive: true });
    const run = JSON.parse(readFileSync(path.join(copy, 'tuned', 'run.json'), 'utf8')) as FuseRun;
    const other = path.join(copy, 'source');
    expect((await train(other, '--seed', '9')).code).toBe(0);
    writeFileSync(path.join(copy, 'tuned', 'run.json'), JSON.stringify({ ...run, initFrom: { ...run.initFrom, dir: other } }));
    await fail(
      [path.join(copy, 'tuned'), '0.5', path.join(data, 'x4')],
      /the --init-from of .*: its weights are not the ones recorded when the run started \(sha256 [0-9a-f]{12}\.\.\., recorded [0-9a-f]{12}\.\.\.\); e\.g\. a package released again since/,
    );
    for (const x of ['x1', 'x2', 'x3', 'x4', 'x5']) expect(readdirSync(data)).not.toContain(x); // nothing written
  }, 240_000);
});
