/**
 * `zipper fuse probe`: does a trained fused run use its input modality? The held-out loss of each
 * task's output with the matched input and with a mismatched one (each dev utterance's input
 * swapped for the next utterance's): ASR's text loss with the right audio vs another sentence's
 * audio, TTS's speech loss with the right text vs another sentence's text. The difference
 * (mismatched - matched, nats/token) is what the input is worth to the model; 0 means the output
 * ignores it and the model is its own tower's language model.
 */
import { existsSync } from 'node:fs';
import { buildArgs, type AlignedFraction } from '@zipper/data';
import { DataDir } from '@zipper/data/node';
import { evaluateStreams, initBackend, resolveModelLocation, ShapeError } from '@zipper/core';
import { ASR, taskExample, TTS, type AlignedItem, type TaskSpec } from '@zipper/fuse';
import { intArg, parse } from '../args.js';
import { UsageError } from '../command.js';
import { prepareAligned } from './aligned.js';
import { readRunDir } from './run-file.js';
import { loadTrainedModel } from './trained-model.js';
import { parseTowerOptions } from './towers.js';

export const PROBE_USAGE = `usage: zipper fuse probe --model RUN_DIR|PACKAGE [--data DIR] [--limit N] [--batch 8] [--bins N] [--tower NAME=DIR] [--json]

Held-out (dev) loss of each task's output with its matched input and with a mismatched one (each
utterance's input swapped for the next utterance's): ASR text loss given the right audio vs another
sentence's audio; TTS speech loss given the right text vs another's. "gain" = mismatched - matched
(nats/token): what the input is worth to the model (0: it ignores the input). --limit N: the first
N dev utterances per task (default all). --data DIR: the data build whose dev split is scored
(default the run's, as run.json names it; a checkpoint package, whose run.json names DATA, needs
it). --bins N (a zipped model): the same losses by where the target token sits in its segment, in
N equal parts (token i of n in part floor((i + 0.5) / n * N)): does the input help all along the
output or only at its start? (The whole is then the parts' sum, per token: equal to the losses
without --bins to about 1e-4.) --json: the last line is {"asr":{"matched","mismatched","gain","targets"
[, "bins": [{"matched","mismatched","gain","targets"}, ...]]},"tts":{...}}.`;

const OPTIONS = {
  model: { type: 'string' },
  data: { type: 'string' },
  limit: { type: 'string' },
  batch: { type: 'string' },
  bins: { type: 'string' },
  tower: { type: 'string', multiple: true },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export interface ProbeRow {
  readonly matched: number;
  readonly mismatched: number;
  readonly gain: number;
  readonly targets: number;
  /** With --bins: the same by where the target token sits in its segment. */
  readonly bins?: readonly Omit<ProbeRow, 'bins'>[];
}

/**
 * Matched and mismatched per-token log-probs of the same targets -> mean NLL by relative position
 * of the token in its segment (`bins` equal parts).
 */
export function probeBins(matched: readonly Float32Array[], mismatched: readonly Float32Array[], bins: number): Omit<ProbeRow, 'bins'>[] {
  const sum = Array.from({ length: bins }, () => ({ a: 0, b: 0, n: 0 }));
  matched.forEach((row, u) => {
    const other = mismatched[u]!;
    if (other.length !== row.length)
      throw new ShapeError(`probeBins: utterance ${u} has ${row.length} matched and ${other.length} mismatched targets`);
    row.forEach((lp, i) => {
      const s = sum[Math.min(bins - 1, Math.floor(((i + 0.5) / row.length) * bins))]!;
      s.a -= lp;
      s.b -= other[i]!;
      s.n++;
    });
  });
  return sum.map(({ a, b, n }) => ({
    matched: a / Math.max(1, n),
    mismatched: b / Math.max(1, n),
    gain: (b - a) / Math.max(1, n),
    targets: n,
  }));
}

/** Each item's `input` modality taken from the next item (cyclically); the output stays. */
export function mismatch(items: readonly AlignedItem[], input: string): AlignedItem[] {
  return items.map((it, i) => ({ ...it, [input]: items[(i + 1) % items.length]![input]! }));
}

export async function runFusedProbe(argv: readonly string[]): Promise<number> {
  const { values: v } = parse(argv, OPTIONS, PROBE_USAGE);
  if (v.help) {
    console.log(PROBE_USAGE);
    return 0;
  }
  if (!v.model) throw new UsageError(`--model RUN_DIR|PACKAGE is required\n\n${PROBE_USAGE}`);
  const limit = v.limit === undefined ? undefined : intArg(v.limit, 'limit', 0, 2);
  const batchSize = intArg(v.batch, 'batch', 8, 1);
  const bins = v.bins === undefined ? undefined : intArg(v.bins, 'bins', 1, 1);
  const log = (s: string) => void process.stderr.write(`${s}\n`);
  const dir = resolveModelLocation(v.model);
  // The data build is checked before the weights load: a missing one is a usage error at once.
  const run = readRunDir(dir);
  const recorded = run.data;
  if (v.data === undefined && !existsSync(recorded.dir))
    throw new UsageError(
      `--model ${v.model} names its data build as ${recorded.dir}, which is not here; pass --data DIR (a build with the same dev split, e.g. its own: zipper data build ${buildArgs(recorded)})`,
    );
  const data = DataDir.open(v.data ?? recorded.dir);
  await initBackend();
  const tm = await loadTrainedModel(dir, parseTowerOptions(v.tower, { optional: true }), run);
  try {
    const m = tm.model;
    const perToken = m.targetTokenLogProbs;
    if (bins !== undefined && !perToken) throw new UsageError(`--bins needs a zipped model; ${v.model} is a single decoder`);
    const maxLen = (x: string) => m.config.towers.find((t) => t.name === x)?.config.maxSeqLen;
    const total = tm.run.kind === 'baseline' ? tm.run.model.maxSeqLen : undefined;
    const aligned = prepareAligned(
      data,
      tm.run.data.percent as AlignedFraction,
      tm.text,
      tm.speech,
      { text: maxLen('text') ?? total ?? 0, speech: maxLen('speech') ?? total ?? 0, ...(total ? { total } : {}) },
      log,
    );
    const score = (task: TaskSpec, items: readonly AlignedItem[]): number[] => {
      const ex = items.map((it) => taskExample(m.config, task, it));
      const batches = Array.from({ length: Math.ceil(ex.length / batchSize) }, (_, i) =>
        m.layout(ex.slice(i * batchSize, (i + 1) * batchSize)),
      );
      const s = evaluateStreams(m.spec, batches).streams[task.output]!;
      return [s.loss, s.targets];
    };
    const tokens = (task: TaskSpec, items: readonly AlignedItem[]): Float32Array[] =>
      Array.from({ length: Math.ceil(items.length / batchSize) }, (_, i) =>
        perToken!(items.slice(i * batchSize, (i + 1) * batchSize).map((it) => taskExample(m.config, task, it))),
      ).flat();
    const out: Record<string, ProbeRow> = {};
    for (const [name, task, items] of [
      ['asr', ASR, aligned.devAsr],
      ['tts', TTS, aligned.devTts],
    ] as const) {
      const set = limit === undefined ? items : items.slice(0, limit);
      if (set.length < 2) continue;
      const other = mismatch(set, task.inputs[0]!);
      if (bins !== undefined) {
        // per token, each set run once: the whole is the one-part split of the same terms
        const [a, b] = [tokens(task, set), tokens(task, other)];
        out[name] = { ...probeBins(a, b, 1)[0]!, bins: probeBins(a, b, bins) };
      } else {
        const [matched, targets] = score(task, set) as [number, number];
        const [mismatched] = score(task, other) as [number];
        out[name] = { matched, mismatched, gain: mismatched - matched, targets };
      }
      const { matched, mismatched, targets } = out[name];
      log(
        `${name}: ${task.output} loss ${matched.toFixed(4)} with the matched ${task.inputs[0]}, ${mismatched.toFixed(4)} with another utterance's (gain ${(mismatched - matched).toFixed(4)} nats/token over ${targets} targets, ${set.length} utterances)`,
      );
    }
    if (v.json) console.log(JSON.stringify(out));
    else
      for (const [k, r] of Object.entries(out)) {
        console.log(`${k}\tmatched ${r.matched.toFixed(4)}\tmismatched ${r.mismatched.toFixed(4)}\tgain ${r.gain.toFixed(4)}`);
        r.bins?.forEach((b, i) =>
          console.log(
            `${k}[${i + 1}/${r.bins!.length}]\tmatched ${b.matched.toFixed(4)}\tmismatched ${b.mismatched.toFixed(4)}\tgain ${b.gain.toFixed(4)}`,
          ),
        );
      }
    return 0;
  } finally {
    tm.dispose();
  }
}
