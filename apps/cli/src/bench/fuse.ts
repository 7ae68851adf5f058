/**
 * `zipper bench fuse train|generate`: speed of a zipped pair of reference-preset towers (the
 * workload of fuse-workload.ts) against the PyTorch twin (tools/fuse/bench_twin.py) in the same
 * command: runs alternate ours / the twin's, each figure is the median of its runs, and the last
 * stdout line is one JSON object with the fields of `bench train|generate`.
 */
import { parseArgs } from 'node:util';
import {
  defaultDataParallelWorkers,
  initBackend,
  liveTensorCount,
  Trainer,
  type DataParallelGradients,
  type DataParallelStats,
  type GradientStrategy,
} from '@zipper/core';
import { median, roundTo as round } from '@zipper/common';
import { freezePrefixes, fusedDataParallel, fusedGradients, generateZipped, type FusedBatch, type Zipper } from '@zipper/fuse';
import { UsageError } from '../command.js';
import { intOption, log, peakRssMb, referenceRunner, referenceSummary, rssMb, runReference, type ReferenceRunner } from './common.js';
import {
  createBenchZipper,
  decodePrompt,
  repeatBatch,
  tokensPerStep,
  TOWERS,
  trainBatch,
  twinArgs,
  type FuseBenchShape,
} from './fuse-workload.js';
import { parallelSummary } from './parallel-summary.js';

export const FUSE_USAGE = `usage: zipper bench fuse train|generate [--json] [--reference] [--runs N] [--steps N]
                    [--freeze text[,speech]] [--freeze-ab text|speech] [--workers N] [--tokens N] [--soak N]
                    [--vocab 512] [--d 256] [--layers 4] [--heads 4] [--cross 4]
                    [--speech-len 150] [--text-len 15] [--batch 8]
                    [--reference-script PATH] [--reference-threads N] [--threads N]

Speed of a zipped text + speech pair: two towers of the reference preset (--vocab content tokens
plus bos and eos, --d, --layers, --heads), --cross gated cross-attention layers per direction
(every-n-th schedule), gated input projections, 3-layer source projections.
  train     optimizer steps (per-stream loss, AdamW lr 1e-3, weight decay 0.01, clip 1.0) on one
            batch of --batch rows alternating ASR [speech][text] and TTS [text][speech], of
            --speech-len units and --text-len tokens (+ bos and eos each): tokens/s per run of
            --steps steps (default 3), after 2 warm-up steps. --freeze text leaves the text tower
            out of training (on both sides).
  generate  ASR decoding, batch 1, greedy, with the caches: a prompt of --speech-len units, then
            --tokens text tokens (default: --text-len): ms/token = the whole call / --tokens, per
            run of one call, after 1 warm-up call.
--freeze-ab T   train: the same pair twice, every weight trained and tower T frozen, runs
                alternating in one process (the order swapped every round); the JSON gains
                "freeze_ab": each side's tokens/s and process CPU ms per step (main thread and
                workers; CPU time is what a busy host's stolen cycles do not inflate), both
                ratios frozen / unfrozen and the trainable weights. Not with --freeze or --reference.
--reference     also run tools/fuse/bench_twin.py (the PyTorch twin) once per run, alternating
                with ours, same shapes, batch, freeze and step count; the JSON gains "reference"
                (its median, param count and interpreter) and "ratio" (train: ours / twin
                tokens/s; generate: ours / twin ms/token). Interpreter: $ZIPPER_PYTHON, else the
                first python3 on PATH that can import torch. Fails if the param counts differ.
--reference-threads N
                N threads for the twin: PyTorch's pool and OpenBLAS's GEMMs (default: their own
                choice; the JSON's reference.threads / blas_threads say what ran).
--workers N     train: data-parallel worker threads besides the main thread (0 = in-process;
                default as \`bench train\`: 1 on wasm/cpu with >= 2 cores). Workers load the built
                @zipper/fuse: \`npx turbo run build\` first.
--soak N        generate: N decode calls; RSS and live tensors at the start, middle and end.
--threads N     wasm threads (same as ZIPPER_THREADS).
The last stdout line is one JSON object; progress goes to stderr.`;

const TWIN = 'tools/fuse/bench_twin.py';

interface TwinResult {
  readonly params: number;
  readonly tokens_per_s: number;
  readonly ms_per_token?: number;
  readonly threads: number;
}

const sizeOf = (z: Zipper, keys: readonly string[]): number => keys.reduce((n, k) => n + z.param(k).size, 0);

/** The bench's trainer for `zipper`: data-parallel with `workers` threads (0 = in-process), AdamW lr 1e-3, clip 1.0. */
function benchTrainer(
  zipper: Zipper,
  s: FuseBenchShape,
  workers: number,
): { trainer: Trainer<FusedBatch>; parallel?: DataParallelGradients<FusedBatch> } {
  const parallel: DataParallelGradients<FusedBatch> | undefined = workers > 0 ? fusedDataParallel(zipper, { workers }) : undefined;
  const strategy: GradientStrategy<FusedBatch> = parallel ?? fusedGradients(zipper);
  try {
    const trainer = new Trainer(zipper, repeatBatch(trainBatch(zipper, s)), {
      strategy,
      freezePrefixes: freezePrefixes(zipper),
      schedule: { peakLr: 1e-3, minLr: 1e-3, warmupSteps: 0, totalSteps: 1 },
      optimizer: { weightDecay: 0.01 },
      maxGradNorm: 1.0,
    });
    return parallel ? { trainer, parallel } : { trainer };
  } catch (e) {
    parallel?.dispose(); // the trainer would have owned the workers; without it nothing else stops them
    throw e;
  }
}

/** CPU seconds of this process so far (every thread: the main one and the data-parallel workers). */
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/**
 * `--freeze-ab T`: the pair with every weight trained against the pair with tower T frozen, runs
 * alternating (A B, then B A, ...) so that a drifting machine weighs on both alike.
 */
async function freezeAb(s: FuseBenchShape, tower: string, runs: number, steps: number, workers: number): Promise<Record<string, unknown>> {
  type Side = {
    name: string;
    zipper: Zipper;
    trainer?: Trainer<FusedBatch>;
    parallel?: DataParallelGradients<FusedBatch>;
    tokens: number[];
    cpuMs: number[];
  };
  const built: Side[] = []; // each side is disposed below as far as it got built, whatever throws
  try {
    for (const [name, frozen] of [
      ['unfrozen', []],
      ['frozen', [tower]],
    ] as const) {
      const side: Side = { name, zipper: createBenchZipper(s, frozen), tokens: [], cpuMs: [] };
      built.push(side);
      Object.assign(side, benchTrainer(side.zipper, s, workers));
    }
    const sides = built as Array<Side & { trainer: Trainer<FusedBatch> }>;
    for (const x of sides) {
      await x.parallel?.start();
      await x.trainer.trainStep();
      await x.trainer.trainStep();
    }
    for (let r = 0; r < runs; r++) {
      for (const x of r % 2 === 0 ? sides : [...sides].reverse()) {
        const c0 = cpuSeconds();
        const t0 = performance.now();
        for (let i = 0; i < steps; i++) await x.trainer.trainStep();
        x.tokens.push((tokensPerStep(s) * steps) / ((performance.now() - t0) / 1000));
        x.cpuMs.push(((cpuSeconds() - c0) * 1000) / steps);
        log(`run ${r + 1}/${runs}: ${x.name} ${round(x.tokens.at(-1)!, 1)} tokens/s, ${round(x.cpuMs.at(-1)!, 1)} CPU ms/step`);
      }
    }
    const [u, f] = sides as [(typeof sides)[0], (typeof sides)[0]];
    const side = (x: (typeof sides)[0]) => ({
      tokens_per_s: round(median(x.tokens), 1),
      cpu_ms_per_step: round(median(x.cpuMs), 1),
      trainable_params: sizeOf(x.zipper, x.trainer.trainable),
      runs: x.tokens.map((v) => round(v, 1)),
      cpu_runs: x.cpuMs.map((v) => round(v, 1)),
    });
    return {
      tower,
      params: u.zipper.numParams,
      unfrozen: side(u),
      frozen: side(f),
      ratio_tokens_per_s: round(median(f.tokens) / median(u.tokens), 3),
      ratio_cpu: round(median(f.cpuMs) / median(u.cpuMs), 3),
      ratio_meaning: 'frozen / unfrozen (tokens/s: above 1 = frozen faster; CPU ms per step: below 1 = frozen cheaper)',
    };
  } finally {
    for (const x of built) {
      x.trainer?.dispose();
      x.zipper.dispose();
    }
  }
}

/** One decode call (ASR, greedy); ms per generated token. Throws if the text ended before `tokens`. */
async function decodeRun(zipper: Zipper, s: FuseBenchShape, tokens: number): Promise<number> {
  const t0 = performance.now();
  const r = await generateZipped(zipper, [decodePrompt(s)], { output: ['text'], maxNewTokens: tokens, temperature: 0 });
  const ms = performance.now() - t0;
  const got = r.rows[0]?.[0]?.ids.length ?? 0;
  if (got !== tokens)
    throw new UsageError(
      `the decode stopped after ${got} of ${tokens} tokens (greedy chose eos); ms/token would not compare with the twin's fixed count. Use another --tokens`,
    );
  return ms / tokens;
}

async function soak(zipper: Zipper, s: FuseBenchShape, tokens: number, calls: number): Promise<Record<string, number>> {
  await decodeRun(zipper, s, tokens);
  const out: Record<string, number> = { calls, tokens_per_call: tokens, rss_mb_start: rssMb(), tensors_start: liveTensorCount() };
  for (let i = 1; i <= calls; i++) {
    await decodeRun(zipper, s, tokens);
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

function parse(argv: readonly string[]): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean', default: false },
        reference: { type: 'boolean', default: false },
        'reference-script': { type: 'string' },
        'reference-threads': { type: 'string' },
        runs: { type: 'string', default: '5' },
        steps: { type: 'string', default: '3' },
        threads: { type: 'string' },
        workers: { type: 'string' },
        freeze: { type: 'string', default: '' },
        'freeze-ab': { type: 'string' },
        tokens: { type: 'string' },
        soak: { type: 'string' },
        vocab: { type: 'string', default: '512' },
        d: { type: 'string', default: '256' },
        layers: { type: 'string', default: '4' },
        heads: { type: 'string', default: '4' },
        cross: { type: 'string', default: '4' },
        'speech-len': { type: 'string', default: '150' },
        'text-len': { type: 'string', default: '15' },
        batch: { type: 'string', default: '8' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${FUSE_USAGE}`);
  }
}

/** Runs `zipper bench fuse ...` (argv after `fuse`). */
export async function benchFuse(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values['help']) {
    console.log(FUSE_USAGE);
    return 0;
  }
  const mode = positionals[0];
  if ((mode !== 'train' && mode !== 'generate') || positionals.length !== 1) throw new UsageError(FUSE_USAGE);
  const int = (key: string, min = 1): number => intOption(values, key, FUSE_USAGE, min);
  const s: FuseBenchShape = {
    vocab: int('vocab'),
    d: int('d'),
    layers: int('layers'),
    heads: int('heads'),
    cross: int('cross'),
    speechLen: int('speech-len'),
    textLen: int('text-len'),
    batch: mode === 'generate' ? 1 : int('batch'),
  };
  if (s.layers % s.cross !== 0) throw new UsageError(`--cross ${s.cross} must divide --layers ${s.layers} (the every-n-th schedule)`);
  const freeze = String(values['freeze'])
    .split(',')
    .filter((x) => x !== '');
  for (const f of freeze)
    if (!(TOWERS as readonly string[]).includes(f)) throw new UsageError(`--freeze names "${f}"; the towers are ${TOWERS.join(', ')}`);
  if (freeze.length === TOWERS.length) throw new UsageError('--freeze: at least the fusion weights train; freeze at most one tower');
  if (freeze.length > 0 && mode !== 'train') throw new UsageError('--freeze applies to `bench fuse train` only');
  const runs = int('runs');
  const steps = int('steps');
  const tokens = values['tokens'] === undefined ? s.textLen : int('tokens');
  const refThreads = values['reference-threads'] === undefined ? undefined : int('reference-threads');
  const explicitWorkers = values['workers'] === undefined ? undefined : int('workers', 0);
  if (explicitWorkers !== undefined && mode !== 'train') throw new UsageError('--workers applies to `bench fuse train` only');
  if (values['soak'] !== undefined && mode !== 'generate') throw new UsageError('--soak applies to `bench fuse generate` only');
  const ab = values['freeze-ab'] as string | undefined;
  if (ab !== undefined) {
    if (mode !== 'train') throw new UsageError('--freeze-ab applies to `bench fuse train` only');
    if (!(TOWERS as readonly string[]).includes(ab)) throw new UsageError(`--freeze-ab names "${ab}"; the towers are ${TOWERS.join(', ')}`);
    if (freeze.length > 0 || values['reference'])
      throw new UsageError('--freeze-ab compares frozen with unfrozen itself: leave out --freeze and --reference');
  }

  const info = await initBackend(values['threads'] === undefined ? {} : { threads: int('threads') });
  const native = info.native?.used
    ? { used: true, isa: info.native.isa, threads: info.native.threads }
    : { used: false, reason: info.native?.reason ?? 'not applicable to this backend' };
  if (ab !== undefined) {
    const workers = explicitWorkers ?? defaultDataParallelWorkers(info);
    const r = await freezeAb(s, ab, runs, steps, workers);
    const unfrozen = (r['unfrozen'] as { tokens_per_s: number }).tokens_per_s;
    const result = {
      tokens_per_s: unfrozen,
      ms_per_token: round(1000 / unfrozen, 4),
      mode: 'fuse-train',
      backend: info.backend,
      threads: info.threads,
      simd: info.simd,
      native,
      ...s,
      workers,
      tokens_per_step: tokensPerStep(s),
      steps_per_run: steps,
      median_of: runs,
      freeze_ab: r,
      peak_rss_mb: peakRssMb(),
    };
    if (!values['json'])
      log(
        `fuse train, ${ab} frozen vs every weight trained: tokens/s x${String(r['ratio_tokens_per_s'])}, CPU per step x${String(r['ratio_cpu'])} (median of ${runs} runs each)`,
      );
    console.log(JSON.stringify(result));
    return 0;
  }
  const zipper = createBenchZipper(s, freeze);
  const base = {
    mode: `fuse-${mode}`,
    backend: info.backend,
    threads: info.threads,
    simd: info.simd,
    native,
    ...s,
    links: zipper.config.schedule.links.length,
    params: zipper.numParams,
  };
  try {
    if (values['soak'] !== undefined) {
      const r = await soak(zipper, s, tokens, int('soak'));
      console.log(JSON.stringify({ ...base, soak: r, peak_rss_mb: peakRssMb() }));
      return 0;
    }
    const ref: ReferenceRunner | undefined = values['reference']
      ? referenceRunner(TWIN, values['reference-script'] as string | undefined)
      : undefined;
    const twin = async (): Promise<TwinResult> => {
      const args = [
        mode,
        ...twinArgs(s),
        '--steps',
        String(mode === 'train' ? steps : 5),
        '--new-tokens',
        String(tokens),
        ...(freeze.length ? ['--freeze', freeze.join(',')] : []),
        ...(refThreads === undefined ? [] : ['--threads', String(refThreads)]),
      ];
      const r = await runReference<TwinResult>(ref as ReferenceRunner, args);
      if (r.params !== zipper.numParams)
        throw new UsageError(
          `the twin has ${r.params} weights, ours ${zipper.numParams}: the workloads differ (check ${TWIN}'s options against fuse-workload.ts)`,
        );
      return r;
    };
    const withTwin = ref !== undefined && ref.skipped === undefined;

    const ours: number[] = [];
    const theirs: TwinResult[] = [];
    const extra: Record<string, unknown> = {};
    if (mode === 'train') {
      const workers = explicitWorkers ?? defaultDataParallelWorkers(info);
      const { trainer, parallel } = benchTrainer(zipper, s, workers);
      try {
        Object.assign(extra, {
          workers: parallel?.workers ?? 0,
          freeze,
          trainable_params: sizeOf(zipper, trainer.trainable),
          tokens_per_step: tokensPerStep(s),
          steps_per_run: steps,
        });
        if (parallel?.config.note) log(`workers: ${parallel.config.note}`);
        await parallel?.start();
        const stats: DataParallelStats[] = [];
        const first = await trainer.trainStep();
        await trainer.trainStep();
        extra['first_step_losses'] = Object.fromEntries(Object.entries(first.streams).map(([k, v]) => [k, round(v.loss, 4)]));
        for (let r = 0; r < runs; r++) {
          const t0 = performance.now();
          for (let i = 0; i < steps; i++) {
            await trainer.trainStep();
            if (parallel?.stats) stats.push(parallel.stats);
          }
          ours.push((tokensPerStep(s) * steps) / ((performance.now() - t0) / 1000));
          log(`run ${r + 1}/${runs}: ours ${round(ours[r]!, 1)} tokens/s`);
          if (withTwin) {
            theirs.push(await twin());
            log(`run ${r + 1}/${runs}: twin ${round(theirs[r]!.tokens_per_s, 1)} tokens/s`);
          }
        }
        if (parallel) extra['parallel'] = parallelSummary(stats);
      } finally {
        trainer.dispose();
      }
    } else {
      Object.assign(extra, { task: 'asr', tokens_per_run: tokens, prompt_units: s.speechLen });
      await decodeRun(zipper, s, tokens);
      for (let r = 0; r < runs; r++) {
        ours.push(await decodeRun(zipper, s, tokens));
        log(`run ${r + 1}/${runs}: ours ${round(ours[r]!)} ms/token`);
        if (withTwin) {
          theirs.push(await twin());
          log(`run ${r + 1}/${runs}: twin ${round(theirs[r]!.ms_per_token!)} ms/token`);
        }
      }
    }

    const msPerToken = mode === 'train' ? 1000 / median(ours) : median(ours);
    const result: Record<string, unknown> = {
      tokens_per_s: round(1000 / msPerToken, 1),
      ms_per_token: round(msPerToken, 4),
      ...base,
      ...extra,
      median_of: runs,
      runs: ours.map((x) => round(x, 3)),
      peak_rss_mb: peakRssMb(),
    };
    if (ref) {
      if (!withTwin) result['reference'] = { skipped: ref.skipped };
      else {
        const extra = { model: 'zipper-twin', params: theirs[0]!.params };
        Object.assign(result, referenceSummary(mode, ref, theirs, { tokensPerS: median(ours), msPerToken }, 'twin', extra));
      }
    }
    if (!values['json']) {
      log(
        `fuse ${mode}: ${result['tokens_per_s']} tokens/s, ${result['ms_per_token']} ms/token (median of ${runs}; ${info.backend}, ${info.threads} thread(s))`,
      );
      if (result['ratio'] !== undefined) log(`ratio vs the PyTorch twin: ${result['ratio']} (${result['ratio_meaning']})`);
    }
    console.log(JSON.stringify(result));
    return 0;
  } finally {
    zipper.dispose();
  }
}
