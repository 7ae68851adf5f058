import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  BatchIterator,
  DataParallelGradients,
  defaultDataParallelWorkers,
  generate,
  initBackend,
  liveTensorCount,
  Tower,
  Trainer,
  type DataParallelStats,
} from '@zipper/core';
import { median, Mulberry32, roundTo as round } from '@zipper/common';
import { UsageError, type Command } from '../command.js';
import {
  intOption,
  log,
  peakRssMb,
  referenceRunner,
  referenceSummary,
  rssMb,
  runReference,
  type ReferenceRunner,
} from '../bench/common.js';
import { benchApps } from '../bench/apps.js';
import { benchFuse } from '../bench/fuse.js';
import { parallelSummary } from '../bench/parallel-summary.js';

const USAGE = `usage: zipper bench train|generate [--json] [--reference] [--runs N] [--threads N] [--workers N]
                    [--vocab 512] [--d 256] [--layers 4] [--heads 4] [--seq 128] [--batch 8]
                    [--steps 5] [--tokens 128] [--soak N] [--reference-script PATH]
                    [--reference-threads N]

Speed of the engine on the reference preset (the defaults of torch_reference.py).
  train     optimizer steps (forward, backward, AdamW, global-norm clip 1.0) on --batch x --seq
            random tokens: tokens/s per run of --steps steps, after 2 warm-up steps.
  generate  greedy decoding with the KV cache, batch 1, --tokens forward calls from one start
            token (the work of torch_reference.py generate): ms/token per run, after 1 warm-up.
--runs N        runs of each (default 5); the result is the median.
--reference     also run tools/bench/torch_reference.py N times, interleaved with ours, and
                report its median and the ratio (train: ours/torch tokens/s; generate:
                ours/torch ms/token). Interpreter: $ZIPPER_PYTHON, else the first python3 on
                PATH that can import torch (Debian: python3-torch); the JSON names it.
--reference-threads N
                N threads for the reference: PyTorch's pool and OpenBLAS's GEMMs (default: their
                own choice; on this 2-core machine PyTorch's pool is 1 thread while OpenBLAS
                runs every product on both cores: the JSON's reference.threads / blas_threads).
--soak N        generate only: N generate calls (of --tokens each), RSS and live tensors at the
                start, middle and end.
--threads N     wasm threads (same as ZIPPER_THREADS).
--workers N     train only: data-parallel worker threads besides the main thread, each with its
                own single-threaded engine (DataParallelGradients; 0 = in-process). Default: 1 on
                wasm/cpu with >= 2 cores and single-threaded kernels, else 0 (defaultDataParallelWorkers).
                The JSON gains "workers" and "parallel" (median per-step sync/wait/reduce ms).
The last stdout line is one JSON object; progress goes to stderr.
\`zipper bench fuse train|generate\`: a zipped text + speech pair vs its PyTorch twin (\`zipper bench fuse --help\`).
\`zipper bench asr|tts\`: real-time factor of transcribe / speak on one core, pocketsphinx as reference (\`zipper bench asr --help\`).`;

interface Preset {
  readonly vocab: number;
  readonly d: number;
  readonly layers: number;
  readonly heads: number;
  readonly seq: number;
  readonly batch: number;
}

const int = (values: Record<string, unknown>, key: string, min = 1): number => intOption(values, key, USAGE, min);

/** Seeded random token ids in [0, vocab) (the project's Mulberry32, so every run sees the same data). */
function randomTokens(n: number, vocab: number, seed: number): Int32Array {
  const rng = new Mulberry32(seed);
  return Int32Array.from({ length: n }, () => rng.int(vocab));
}

function towerFor(p: Preset, extraPositions: number): Tower {
  return Tower.create(
    { vocabSize: p.vocab, dModel: p.d, nLayers: p.layers, nHeads: p.heads, maxSeqLen: p.seq + extraPositions },
    { seed: 0 },
  );
}

/** Trainer over a corpus of exactly `batch` windows of `seq + 1` random tokens. */
function trainerFor(p: Preset, workers: number): { tower: Tower; trainer: Trainer; parallel?: DataParallelGradients } {
  const tower = towerFor(p, 1);
  const sequences = Array.from({ length: p.batch }, (_, i) => randomTokens(p.seq + 1, p.vocab, 1 + i));
  const data = new BatchIterator(sequences, { batchSize: p.batch, seqLen: p.seq, seed: 0 });
  // torch.optim.AdamW defaults (lr 1e-3, weight decay 0.01), constant lr, clip 1.0, as the reference.
  const parallel = workers > 0 ? new DataParallelGradients(tower, { workers }) : undefined;
  const trainer = new Trainer(tower, data, {
    schedule: { peakLr: 1e-3, minLr: 1e-3, warmupSteps: 0, totalSteps: 1 },
    optimizer: { weightDecay: 0.01 },
    maxGradNorm: 1.0,
    ...(parallel ? { strategy: parallel } : {}),
  });
  return { tower, trainer, ...(parallel ? { parallel } : {}) };
}

async function trainRun(
  trainer: Trainer,
  p: Preset,
  steps: number,
  parallel?: DataParallelGradients,
  stats?: DataParallelStats[],
): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    await trainer.trainStep();
    if (parallel?.stats && stats) stats.push(parallel.stats);
  }
  return (p.batch * p.seq * steps) / ((performance.now() - t0) / 1000);
}

async function generateRun(tower: Tower, tokens: number): Promise<number> {
  const t0 = performance.now();
  await generate(tower, [0], { maxNewTokens: tokens, temperature: 0 });
  return (performance.now() - t0) / tokens;
}

interface TorchResult {
  readonly tokens_per_s: number;
  readonly ms_per_token?: number;
  readonly threads: number;
}

const REFERENCE = path.join('tools', 'bench', 'torch_reference.py');

/** One run of torch_reference.py (`mode`, the preset's options). */
function torchRun(runner: ReferenceRunner, mode: string, p: Preset, threads: number | undefined): Promise<TorchResult> {
  return runReference<TorchResult>(runner, [
    mode,
    ...Object.entries(p).flatMap(([k, v]) => [`--${k}`, String(v)]),
    ...(threads === undefined ? [] : ['--threads', String(threads)]),
  ]);
}

async function soak(tower: Tower, tokens: number, calls: number): Promise<Record<string, number>> {
  await generateRun(tower, tokens);
  const out: Record<string, number> = { calls, tokens_per_call: tokens, rss_mb_start: rssMb(), tensors_start: liveTensorCount() };
  for (let i = 1; i <= calls; i++) {
    await generateRun(tower, tokens);
    if (i === Math.ceil(calls / 2)) {
      out['rss_mb_middle'] = rssMb();
      out['tensors_middle'] = liveTensorCount();
    }
    if (i % 100 === 0) log(`soak: ${i}/${calls} calls, rss ${rssMb()} MB`);
  }
  out['rss_mb_end'] = rssMb();
  out['tensors_end'] = liveTensorCount();
  return out;
}

export const bench: Command = {
  name: 'bench',
  summary: 'speed of training / generation on the reference preset (a tower, or a zipped pair: bench fuse), optionally vs PyTorch (JSON)',
  async run(argv) {
    if (argv[0] === 'fuse') return benchFuse(argv.slice(1));
    if (argv[0] === 'asr' || argv[0] === 'tts') return benchApps(argv[0], argv.slice(1));
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args: [...argv],
        allowPositionals: true,
        strict: true,
        options: {
          json: { type: 'boolean', default: false },
          reference: { type: 'boolean', default: false },
          'reference-script': { type: 'string' },
          'reference-threads': { type: 'string' },
          runs: { type: 'string', default: '5' },
          threads: { type: 'string' },
          workers: { type: 'string' },
          vocab: { type: 'string', default: '512' },
          d: { type: 'string', default: '256' },
          layers: { type: 'string', default: '4' },
          heads: { type: 'string', default: '4' },
          seq: { type: 'string', default: '128' },
          batch: { type: 'string', default: '8' },
          steps: { type: 'string', default: '5' },
          tokens: { type: 'string' },
          soak: { type: 'string' },
          help: { type: 'boolean', short: 'h', default: false },
        },
      });
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\n\n${USAGE}`);
    }
    const { values, positionals } = parsed;
    if (values['help']) {
      console.log(USAGE);
      return 0;
    }
    const mode = positionals[0];
    if ((mode !== 'train' && mode !== 'generate') || positionals.length !== 1) throw new UsageError(USAGE);
    const p: Preset = {
      vocab: int(values, 'vocab'),
      d: int(values, 'd'),
      layers: int(values, 'layers'),
      heads: int(values, 'heads'),
      seq: int(values, 'seq'),
      batch: mode === 'generate' ? 1 : int(values, 'batch'),
    };
    const runs = int(values, 'runs');
    const steps = int(values, 'steps');
    const tokens = values['tokens'] === undefined ? p.seq : int(values, 'tokens');
    const refThreads = values['reference-threads'] === undefined ? undefined : int(values, 'reference-threads');
    const explicitWorkers = values['workers'] === undefined ? undefined : int(values, 'workers', 0);
    if (explicitWorkers !== undefined && mode !== 'train') throw new UsageError('--workers applies to `bench train` only');
    const info = await initBackend(values['threads'] === undefined ? {} : { threads: int(values, 'threads') });
    const workers = explicitWorkers ?? defaultDataParallelWorkers(info);
    const native = info.native?.used
      ? { used: true, isa: info.native.isa, threads: info.native.threads }
      : { used: false, reason: info.native?.reason ?? 'not applicable to this backend' };
    const base = { mode, backend: info.backend, threads: info.threads, simd: info.simd, native, ...p };

    if (values['soak'] !== undefined) {
      if (mode !== 'generate') throw new UsageError('--soak applies to `bench generate` only');
      const tower = towerFor(p, tokens);
      const s = await soak(tower, tokens, int(values, 'soak'));
      console.log(JSON.stringify({ ...base, soak: s, peak_rss_mb: peakRssMb() }));
      tower.dispose();
      return 0;
    }

    const ref = values['reference'] ? referenceRunner(REFERENCE, values['reference-script'] as string | undefined) : undefined;
    const withTorch = ref !== undefined && ref.skipped === undefined;

    const ours: number[] = [];
    const torch: TorchResult[] = [];
    const extra: Record<string, unknown> = {};
    if (mode === 'train') {
      const { tower, trainer, parallel } = trainerFor(p, workers);
      extra['workers'] = parallel?.workers ?? 0;
      if (parallel?.config.note) log(`workers: ${parallel.config.note}`);
      await parallel?.start();
      await trainRun(trainer, p, 2);
      const stats: DataParallelStats[] = [];
      for (let r = 0; r < runs; r++) {
        ours.push(await trainRun(trainer, p, steps, parallel, stats));
        log(`run ${r + 1}/${runs}: ours ${round(ours[r]!, 1)} tokens/s`);
        if (withTorch) {
          torch.push(await torchRun(ref, 'train', p, refThreads));
          log(`run ${r + 1}/${runs}: torch ${round(torch[r]!.tokens_per_s, 1)} tokens/s`);
        }
      }
      if (parallel) extra['parallel'] = parallelSummary(stats);
      trainer.dispose();
      tower.dispose();
    } else {
      const tower = towerFor(p, tokens);
      await generateRun(tower, tokens);
      for (let r = 0; r < runs; r++) {
        ours.push(await generateRun(tower, tokens));
        log(`run ${r + 1}/${runs}: ours ${round(ours[r]!)} ms/token`);
        if (withTorch) {
          torch.push(await torchRun(ref, 'generate', p, refThreads));
          log(`run ${r + 1}/${runs}: torch ${round(torch[r]!.ms_per_token!)} ms/token`);
        }
      }
      tower.dispose();
    }

    const msPerToken = mode === 'train' ? 1000 / median(ours) : median(ours);
    const result: Record<string, unknown> = {
      tokens_per_s: round(1000 / msPerToken, 1),
      ms_per_token: round(msPerToken, 4),
      ...base,
      ...extra,
      steps_per_run: mode === 'train' ? steps : undefined,
      tokens_per_run: mode === 'generate' ? tokens : undefined,
      median_of: runs,
      runs: ours.map((x) => round(x, 3)),
      peak_rss_mb: peakRssMb(),
    };
    if (ref) {
      if (!withTorch) result['reference'] = { skipped: ref.skipped };
      else {
        Object.assign(result, referenceSummary(mode, ref, torch, { tokensPerS: median(ours), msPerToken }, 'torch'));
      }
    }
    if (!values['json']) {
      log(
        `${mode}: ${result['tokens_per_s']} tokens/s, ${result['ms_per_token']} ms/token (median of ${runs}; ${info.backend}, ${info.threads} thread(s))`,
      );
      if (result['ratio'] !== undefined) log(`ratio vs PyTorch: ${result['ratio']} (${result['ratio_meaning']})`);
    }
    console.log(JSON.stringify(result));
    return 0;
  },
};
