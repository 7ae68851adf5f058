/**
 * Parity of @zipper/fuse with its PyTorch twin (tools/fuse/zipper_reference.py).
 *
 * The committed fixtures of tools/fuse/make_golden.py, written by tools/interop/convert.py and
 * read by @zipper/fuse's loadZipper: two towers of different widths and depths (text V=13 D=16
 * L=2 H=2, speech V=11 D=24 L=3 H=3) zipped by 5 links with every gate in [0.3, 0.9], on a ragged
 * batch of an ASR row, a TTS row and a [text][speech][text] row; and three towers (widths 8, 12,
 * 4) with two links into one reader layer. Ours must give the twin's per-tower logits (real
 * positions), per-stream losses, weighted total and the gradient of every parameter; and, on the
 * two-tower weights, the logits and losses of input projections 'replace' and 'none'.
 * Through PyTorch (tools/setup's requireTorchPython): regenerating the golden values reproduces the
 * committed ones, and the twin's own property checks (tools/fuse/check_twin.py) pass.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, initBackend } from '@zipper/core';
import {
  everyNthSchedule,
  fusedGradients,
  fusionParamSpecs,
  layoutBatch,
  loadZipper,
  resolveZipperConfig,
  Zipper,
  type Example,
} from '@zipper/fuse';
import { requireTorchPython, torchEnv } from '../setup/system.mjs';

const fixtures = new URL('../fuse/fixtures/', import.meta.url).pathname;
/** Runs the torch interpreter asynchronously (a long synchronous child would block vitest's worker RPC); resolves to stdout. */
async function python(py: string, args: readonly string[]): Promise<string> {
  return (await promisify(execFile)(py, [...args], { env: torchEnv(), maxBuffer: 256 << 20 })).stdout;
}

interface Golden {
  examples: Example[];
  weights: Record<string, number>;
  streams: Record<string, { ids: number[][]; global: number[][]; lengths: number[]; targets: number[][]; mask: number[][] }>;
  logits: Record<string, number[]>;
  logitsShape: Record<string, [number, number, number]>;
  denominators: Record<string, number>;
  losses: Record<string, number>;
  loss: number;
  fusionEffect: Record<string, number>;
  inputProjectionVariants: Record<'replace' | 'none', { logits: Record<string, number[]>; losses: Record<string, number>; loss: number }>;
}
const readGolden = (dir: string) => ({
  golden: JSON.parse(readFileSync(path.join(dir, 'golden.json'), 'utf8')) as Golden,
  grads: decodeSafetensors(readFileSync(path.join(dir, 'golden-grads.safetensors'))).tensors,
});
const { golden } = readGolden(fixtures);

/** max |a - b| over max |b| (the interop test's measure), over the entries where `keep` holds. */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, keep: (i: number) => boolean = () => true): number {
  expect(a.length).toBe(b.length);
  let scale = 1e-6;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    if (!keep(i)) continue;
    scale = Math.max(scale, Math.abs(b[i] as number));
    m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  }
  return m / scale;
}

/** Index i of a flat [B, T, V] array is a real (unpadded) position of its row. */
const isReal = (lengths: readonly number[], T: number, V: number) => (i: number) =>
  Math.floor(i / V) % T < (lengths[Math.floor(i / (T * V))] as number);

let zipper: Zipper;
let three: Zipper;
beforeAll(async () => {
  await initBackend();
  // @zipper/fuse's own loader reads the converter's fused checkpoints (and verifies the towers' sha256)
  zipper = await loadZipper(path.join(fixtures, 'zipped'), {
    text: path.join(fixtures, 'text-tower'),
    speech: path.join(fixtures, 'speech-tower'),
  });
  three = await loadZipper(path.join(fixtures, 'three', 'zipped')); // every tower stored, no tower checkpoint
});
afterAll(() => {
  zipper?.dispose();
  three?.dispose();
});

describe.each([
  ['two towers (text D16 L2, speech D24 L3; 5 links)', () => zipper, fixtures],
  ['three towers (text D8, speech D12, image D4; two links into one reader layer)', () => three, path.join(fixtures, 'three')],
] as const)('%s against the PyTorch twin (committed golden values)', (_, model, dir) => {
  const { golden, grads: goldenGrads } = readGolden(dir);

  it('lays the ragged batch out as the twin does (streams, global indices, targets)', () => {
    const batch = layoutBatch(model().config, golden.examples);
    expect(Object.keys(batch.streams).sort()).toEqual(Object.keys(golden.streams).sort());
    for (const [name, g] of Object.entries(golden.streams)) {
      const s = batch.streams[name]!;
      const T = s.length;
      const real = (flat: ArrayLike<number>) => g.lengths.map((n, b) => Array.from(flat).slice(b * T, b * T + n));
      expect(Array.from(s.lengths), name).toEqual(g.lengths);
      expect(real(s.ids), name).toEqual(g.ids.map((r, b) => r.slice(0, g.lengths[b])));
      expect(Array.from(s.global), name).toEqual(g.global.flat());
      expect(Array.from(s.mask), name).toEqual(g.mask.flat());
      expect(
        Array.from(s.targets).filter((_, i) => s.mask[i] === 1),
        name,
      ).toEqual(g.targets.flat().filter((_, i) => g.mask.flat()[i] === 1));
    }
  });

  it('gives the twin per-tower logits at every real position', () => {
    const z = model();
    const batch = layoutBatch(z.config, golden.examples);
    const before = tf.memory().numTensors;
    const diffs = tf.tidy(() => {
      const logits = z.forward(batch);
      expect(Object.keys(logits).sort()).toEqual(Object.keys(golden.logits).sort());
      return Object.keys(golden.logits).map((name) => {
        const [B, T, V] = golden.logitsShape[name]!;
        expect(logits[name]!.shape, name).toEqual([B, T, V]);
        return [name, maxRelDiff(logits[name]!.dataSync(), golden.logits[name]!, isReal(golden.streams[name]!.lengths, T, V))] as const;
      });
    });
    for (const [name, d] of diffs) expect(d, name).toBeLessThan(1e-5);
    expect(tf.memory().numTensors).toBe(before);
    // the fixture exercises the fusion: gates at 0 would move the logits by this much
    for (const e of Object.values(golden.fusionEffect)) expect(e).toBeGreaterThan(0.1);
  });

  it('gives the twin per-stream losses, total loss and the gradient of every parameter', async () => {
    const z = model();
    const batch = layoutBatch(z.config, golden.examples);
    const strategy = fusedGradients(z, golden.weights);
    const keys = [...z.params.keys()];
    expect([...keys].sort()).toEqual([...goldenGrads.keys()].sort());
    const denominators = strategy.countTargets(batch);
    expect(denominators).toEqual(golden.denominators);
    const before = tf.memory().numTensors;
    const r = await strategy.computeGradients(batch, {
      trainable: keys,
      denominator: Object.values(denominators).reduce((a, b) => a + b, 0),
      denominators,
    });
    const loss = r.loss.dataSync()[0] as number;
    expect(Math.abs(loss - golden.loss) / golden.loss).toBeLessThan(1e-5);
    for (const [name, share] of Object.entries(golden.losses)) expect(Math.abs(r.streams![name]! - share) / share, name).toBeLessThan(1e-5);
    const bad: string[] = [];
    for (const k of keys) {
      const g = r.grads.get(k)!;
      const want = goldenGrads.get(k)!;
      expect(g.shape, k).toEqual([...want.shape]);
      const d = maxRelDiff(g.dataSync(), want.data);
      if (!(d < 1e-4)) bad.push(`${k}: ${d.toExponential(2)}`);
    }
    tf.dispose([r.loss, ...r.grads.values()]);
    expect(bad).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe.each(['replace', 'none'] as const)("input projection '%s' on the same weights", (mode) => {
  it('gives the twin logits and losses', async () => {
    const want = golden.inputProjectionVariants[mode];
    // the loaded model's weights under the other input projection (its keys are a subset)
    const config = resolveZipperConfig({ ...zipper.config, inputProjection: mode });
    const entries = config.towers.map((t) => ({ name: t.name, tower: zipper.towers.get(t.name)!, bos: t.bos, eos: t.eos }));
    const z = Zipper.fromWeights(entries, config, new Map(fusionParamSpecs(config).map((p) => [p.key, zipper.param(p.key)])));
    expect([...z.params.keys()].some((k) => k.endsWith('.gate') && k.startsWith('inproj.'))).toBe(false);
    expect([...z.params.keys()].some((k) => k.startsWith('inproj.'))).toBe(mode === 'replace');
    const batch = layoutBatch(z.config, golden.examples);
    const strategy = fusedGradients(z, golden.weights);
    const denominators = strategy.countTargets(batch);
    const r = await strategy.computeGradients(batch, { trainable: [...z.params.keys()], denominator: 1, denominators });
    const diffs = tf.tidy(() => {
      const logits = z.forward(batch);
      return Object.keys(want.logits).map((name) => {
        const [, T, V] = golden.logitsShape[name]!;
        return [name, maxRelDiff(logits[name]!.dataSync(), want.logits[name]!, isReal(golden.streams[name]!.lengths, T, V))] as const;
      });
    });
    const loss = r.loss.dataSync()[0] as number;
    tf.dispose([r.loss, ...r.grads.values()]); // z shares zipper's variables: zipper.dispose() frees them
    for (const [name, d] of diffs) expect(d, name).toBeLessThan(1e-5);
    expect(Math.abs(loss - want.loss) / want.loss).toBeLessThan(1e-5);
    for (const [name, share] of Object.entries(want.losses)) expect(Math.abs(r.streams![name]! - share) / share, name).toBeLessThan(1e-5);
  });
});

describe('the golden values through PyTorch', () => {
  let PY = '';
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'zipper-fuse-parity-'));
  beforeAll(() => {
    PY = requireTorchPython(); // throws with the install command when no python3 has torch
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('regenerating them reproduces the committed ones', async () => {
    await python(PY, [new URL('../fuse/make_golden.py', import.meta.url).pathname, '--out', tmp]);
    const fresh = JSON.parse(readFileSync(path.join(tmp, 'golden.json'), 'utf8')) as Golden;
    expect(Math.abs(fresh.loss - golden.loss)).toBeLessThan(1e-6);
    for (const name of Object.keys(golden.logits)) expect(maxRelDiff(fresh.logits[name]!, golden.logits[name]!), name).toBeLessThan(1e-6);
    expect(
      readFileSync(path.join(tmp, 'zipped', 'model.safetensors')).equals(readFileSync(path.join(fixtures, 'zipped', 'model.safetensors'))),
    ).toBe(true);
    expect(
      readFileSync(path.join(tmp, 'three/zipped/model.safetensors')).equals(
        readFileSync(path.join(fixtures, 'three/zipped/model.safetensors')),
      ),
    ).toBe(true);
    // gradients: the same within float32 summation order, which PyTorch's thread count and BLAS
    // change (on a new machine of this kind, torch 1.13.1 with 1 thread, 106 of 109 tensors
    // differed from the fixtures, written on an earlier one, by at most 5.2e-6 of their largest entry)
    for (const f of ['golden-grads.safetensors', 'three/golden-grads.safetensors']) {
      const [got, want] = [tmp, fixtures].map((d) => decodeSafetensors(readFileSync(path.join(d, f))).tensors);
      expect([...got!.keys()].sort(), f).toEqual([...want!.keys()].sort());
      for (const [k, w] of want!) expect(maxRelDiff(got!.get(k)!.data, w.data), `${f} ${k}`).toBeLessThan(1e-5);
    }
  });

  it("bench_twin.py's every-n-th schedule equals everyNthSchedule, and both of its modes run", async () => {
    const shapes = [
      { name: 'text', nLayers: 4, dModel: 16 },
      { name: 'speech', nLayers: 6, dModel: 24 },
    ];
    const script = [
      'import sys, json',
      `sys.path.insert(0, ${JSON.stringify(new URL('../fuse/', import.meta.url).pathname)})`,
      'import bench_twin',
      `towers = [{"name": t["name"], "config": {"nLayers": t["nLayers"]}} for t in ${JSON.stringify(shapes)}]`,
      'print(json.dumps(bench_twin.every_nth(towers, 2)))',
    ].join('\n');
    expect(JSON.parse(await python(PY, ['-c', script]))).toEqual(everyNthSchedule(shapes, 2).links);
    const tiny = [
      '--d',
      '16',
      '--heads',
      '2',
      '--layers',
      '2',
      '--cross',
      '2',
      '--text-vocab',
      '7',
      '--speech-vocab',
      '5',
      '--speech-len',
      '6',
      '--text-len',
      '3',
      '--steps',
      '1',
    ];
    const bench = new URL('../fuse/bench_twin.py', import.meta.url).pathname;
    const train = JSON.parse(await python(PY, [bench, 'train', ...tiny, '--batch', '2'])) as { tokens_per_s: number; params: number };
    const gen = JSON.parse(await python(PY, [bench, 'generate', ...tiny, '--new-tokens', '3'])) as { ms_per_token: number };
    expect(train.tokens_per_s).toBeGreaterThan(0);
    expect(train.params).toBeGreaterThan(0);
    expect(gen.ms_per_token).toBeGreaterThan(0);
  });

  it("the twin's property checks pass (tools/fuse/check_twin.py)", async () => {
    const out = await python(PY, [new URL('../fuse/check_twin.py', import.meta.url).pathname]);
    expect(out).toBe(''); // unittest reports on stderr; a failure throws (non-zero exit)
  });
});
