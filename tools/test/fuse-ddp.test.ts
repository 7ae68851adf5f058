/**
 * tools/fuse/train_ddp.py: the PyTorch twin trains a zipped model with DistributedDataParallel
 * (2 processes, gloo on CPU, launched by torchrun) and the result comes back as a fused
 * checkpoint that @zipper/fuse loads and that gives the twin's logits.
 *
 * Starts from the committed tiny fixture (tools/fuse/fixtures: zipped/, text-tower/, train.jsonl),
 * text tower frozen. Checks: the loss falls; both ranks end with bit-identical weights; the run
 * equals one process on the same global batch (the per-stream denominators are global); the
 * frozen text tower is left out of the output and the stored speech tower changed; our Zipper
 * loads the output and gives the twin's logits. And with no tower frozen (one process): the text
 * tower trains, is stored, and the output loads alone with the twin's logits. Needs PyTorch
 * (tools/setup's requireTorchPython).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, initBackend } from '@zipper/core';
import { layoutBatch, loadZipper, type Example } from '@zipper/fuse';
import { requireTorchPython, torchEnv } from '../setup/system.mjs';
import { worstRelative, type TwinLogits } from './twin-logits.js';

const fuse = new URL('../fuse/', import.meta.url).pathname;
const fixtures = path.join(fuse, 'fixtures');
/** Runs the torch interpreter asynchronously (a long synchronous child would block vitest's worker RPC); resolves to stdout. */
async function python(py: string, args: readonly string[], timeout = 0): Promise<string> {
  return (await promisify(execFile)(py, [...args], { env: torchEnv(), maxBuffer: 256 << 20, timeout, killSignal: 'SIGTERM' })).stdout;
}

/** The tail of every file under `dir` (torchrun's per-rank logs), for a failure message. */
function logTails(dir: string): string {
  if (!existsSync(dir)) return `(no logs in ${dir})`;
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => `--- ${f}\n${readFileSync(f, 'utf8').split('\n').slice(-15).join('\n')}`)
    .join('\n');
}

const towers = { text: path.join(fixtures, 'text-tower'), speech: path.join(fixtures, 'speech-tower') };
const STEPS = 8;
const common = [
  '--model',
  path.join(fixtures, 'zipped'),
  '--tower',
  `text=${towers.text}`,
  '--data',
  path.join(fixtures, 'train.jsonl'),
  '--freeze',
  'text',
  '--steps',
  String(STEPS),
  '--lr',
  '3e-3',
  '--weights',
  'text=1,speech=0.5',
  '--seed',
  '3',
];

interface Line {
  step?: number;
  loss?: number;
  rank?: number;
  paramsSha256?: string;
  done?: boolean;
  frozen?: string[];
  ranks?: number;
}
/**
 * JSON lines of a run's output. torchrun's --tee prefixes each with `[defaultN]:`, and under load
 * it can write one rank's line before the other's newline (`{...}[default1]:{...}`, seen in CI on
 * 2026-12-02), so every prefix starts a line.
 */
function lines(out: string): Line[] {
  return out
    .replace(/\[default\d+\]:/g, '\n')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

describe('train_ddp.py: 2 processes of DistributedDataParallel', () => {
  let PY = '';
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'zipper-fuse-ddp-'));
  const out = path.join(tmp, 'trained');
  let ddp: Line[] = [];

  beforeAll(async () => {
    PY = requireTorchPython(); // throws with the install command when no python3 has torch
    await initBackend();
    // torchrun as `python -m torch.distributed.run`, so the interpreter with torch runs it; --standalone
    // picks a free port; --redirects 1 --tee 1: Debian's torch 1.13 crashes on Python 3.11 with the
    // defaults (its Std flag parsing returns None for "0").
    // Bounded: once in CI (2026-12-01) this run did not return in 180 s, though it takes ~10 s
    // and 6 runs in parallel pairs passed here; the cause (torchrun's rendezvous or a gloo
    // collective) is not known. A rank now gives up after --timeout 60 s, the launcher is ended at
    // 120 s, and a hung attempt is retried once with its logs printed.
    const attempt = (n: number) =>
      python(
        PY,
        [
          '-m',
          'torch.distributed.run',
          '--standalone',
          '--nproc_per_node',
          '2',
          '--redirects',
          '1',
          '--tee',
          '1',
          '--log_dir',
          path.join(tmp, `logs-${n}`),
          path.join(fuse, 'train_ddp.py'),
          ...common,
          '--batch',
          '4',
          '--timeout',
          '60',
          '--out',
          out,
        ],
        120_000,
      );
    let run: string;
    try {
      run = await attempt(1);
    } catch (e) {
      if (!(e as { killed?: boolean }).killed) throw e;
      console.warn(`train_ddp.py under torchrun did not end in 120 s; its logs:\n${logTails(path.join(tmp, 'logs-1'))}\nretrying once`);
      run = await attempt(2);
    }
    ddp = lines(run);
  }, 300_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('the loss falls and both ranks end with identical weights', () => {
    const steps = ddp.filter((l) => l.step !== undefined).map((l) => l.loss!);
    expect(steps.length).toBe(STEPS);
    const first = steps[0]!;
    const last = (steps[STEPS - 1]! + steps[STEPS - 2]!) / 2;
    expect(last).toBeLessThan(0.75 * first);
    const ranks = ddp.filter((l) => l.rank !== undefined);
    expect(ranks.map((l) => l.rank).sort()).toEqual([0, 1]);
    expect(ranks[0]!.paramsSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(ranks[1]!.paramsSha256).toBe(ranks[0]!.paramsSha256);
    expect(ddp.find((l) => l.done)).toMatchObject({ done: true, ranks: 2, frozen: ['text'] });
  });

  it('equals one process on the same global batch (global per-stream denominators)', async () => {
    const single = lines(await python(PY, [path.join(fuse, 'train_ddp.py'), ...common, '--batch', '8', '--out', path.join(tmp, 'single')]));
    const a = ddp.filter((l) => l.step !== undefined).map((l) => l.loss!);
    const b = single.filter((l) => l.step !== undefined).map((l) => l.loss!);
    expect(b.length).toBe(STEPS);
    for (let i = 0; i < STEPS; i++) expect(Math.abs(a[i]! - b[i]!) / b[i]!, `step ${i + 1}`).toBeLessThan(1e-4);
  });

  it('writes a fused checkpoint without the frozen tower that our Zipper loads with the twin logits', async () => {
    const stored = decodeSafetensors(readFileSync(path.join(out, 'model.safetensors'))).tensors;
    expect([...stored.keys()].some((k) => k.startsWith('towers.text.'))).toBe(false);
    const before = decodeSafetensors(readFileSync(path.join(fixtures, 'zipped', 'model.safetensors'))).tensors;
    const moved = (k: string) => stored.get(k)!.data.some((v, i) => v !== before.get(k)!.data[i]);
    expect(moved('towers.speech.blocks.0.qkv.weight')).toBe(true);
    expect(moved('cross.text_from_speech.1.attn.kv.weight')).toBe(true);

    const golden = JSON.parse(readFileSync(path.join(fixtures, 'golden.json'), 'utf8')) as { examples: Example[] };
    const examplesFile = path.join(tmp, 'examples.json');
    writeFileSync(examplesFile, JSON.stringify(golden.examples));
    const twin = JSON.parse(
      await python(PY, [path.join(fuse, 'twin_logits.py'), '--model', out, '--tower', `text=${towers.text}`, '--examples', examplesFile]),
    ) as TwinLogits;
    const zipper = await loadZipper(out, { text: towers.text }); // the frozen text tower from its checkpoint (sha256 verified)
    expect(zipper.config.freeze).toEqual(['text']);
    const diffs = worstRelative(() => zipper.forward(layoutBatch(zipper.config, golden.examples)) as Record<string, tf.Tensor3D>, twin);
    zipper.dispose();
    for (const [name, d] of diffs) expect(d, name).toBeLessThan(1e-5);
  });

  it('with no tower frozen, the text tower trains too and is stored; our Zipper loads it alone with the twin logits', async () => {
    const unfrozen = path.join(tmp, 'unfrozen');
    const args = common.filter((x, i) => x !== '--freeze' && common[i - 1] !== '--freeze');
    const run = lines(await python(PY, [path.join(fuse, 'train_ddp.py'), ...args, '--batch', '8', '--out', unfrozen]));
    expect(run.find((l) => l.done)).toMatchObject({ done: true, frozen: [] });
    const stored = decodeSafetensors(readFileSync(path.join(unfrozen, 'model.safetensors'))).tensors;
    const textTower = decodeSafetensors(readFileSync(path.join(towers.text, 'model.safetensors'))).tensors;
    const key = 'blocks.0.qkv.weight';
    expect(stored.get(`towers.text.${key}`)!.data.some((v, i) => v !== textTower.get(key)!.data[i])).toBe(true); // it trained

    const golden = JSON.parse(readFileSync(path.join(fixtures, 'golden.json'), 'utf8')) as { examples: Example[] };
    const examplesFile = path.join(tmp, 'examples-unfrozen.json');
    writeFileSync(examplesFile, JSON.stringify(golden.examples));
    const twin = JSON.parse(
      await python(PY, [path.join(fuse, 'twin_logits.py'), '--model', unfrozen, '--examples', examplesFile]),
    ) as TwinLogits;
    const zipper = await loadZipper(unfrozen); // every tower's weights in the checkpoint
    expect(zipper.config.freeze).toEqual([]);
    const diffs = worstRelative(() => zipper.forward(layoutBatch(zipper.config, golden.examples)) as Record<string, tf.Tensor3D>, twin);
    zipper.dispose();
    for (const [name, d] of diffs) expect(d, name).toBeLessThan(1e-5);
  });
});
