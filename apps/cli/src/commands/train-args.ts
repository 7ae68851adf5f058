/**
 * The arguments of a `zipper train` run: parsed from the command line, saved as DIR/run.json,
 * validated again when `--resume` reads them back (a hand-edited or damaged run.json names the
 * field and the value as JSON spells it). Also the ids file reader and the size limits that keep
 * a typo (an id of 1000000000, `--d 100000`) from allocating gigabytes.
 */
import path from 'node:path';
import { showValue } from '@zipper/common';
import { CheckpointError } from '@zipper/core';
import { UsageError } from '../command.js';

/** Everything a run depends on; saved as DIR/run.json so --resume rebuilds the same trainer. */
export interface RunArgs {
  readonly ids: string;
  readonly init?: string;
  /** Vocabulary size of the tower (resolved when the run starts; older run.json files may lack it). */
  readonly vocab?: number;
  readonly d: number;
  readonly layers: number;
  readonly heads: number;
  readonly steps: number;
  readonly batch: number;
  readonly seq: number;
  readonly lr: number;
  readonly minLr: number;
  readonly warmup: number;
  readonly accum: number;
  /** Infinity = no clipping (saved as null). */
  readonly clip: number;
  readonly weightDecay: number;
  readonly freeze: readonly string[];
  readonly seed: number;
  readonly every: number;
  readonly keep: number;
}

/**
 * Largest tower this command builds: 2^26 parameters, ~1.1 GB with AdamW state and gradients
 * (x 16 bytes). The wasm backend's heap ends at 4 GB; past it the engine aborts.
 */
export const MAX_PARAMETERS = 2 ** 26;
/**
 * Largest attention of one step: layers x batch x heads x seq^2 scores (forward and backward keep
 * a few float32 copies: 2^26 values is ~0.8 GB). `--seq 5000 --batch 2 --heads 4` (2e8 per layer)
 * grew the heap to 4 GB in 49 s and left the engine aborting (found by test/fuzz.test.ts).
 */
export const MAX_ATTENTION_VALUES = 2 ** 26;

interface NumberRule {
  readonly int?: boolean;
  readonly min?: number;
  readonly max?: number;
}

/** `--lr` etc. on the command line: the option name and its rule. */
const RULES: Readonly<Record<string, { readonly option: string; readonly rule: NumberRule }>> = {
  vocab: { option: 'vocab', rule: { int: true, min: 1 } },
  d: { option: 'd', rule: { int: true, min: 2 } },
  layers: { option: 'layers', rule: { int: true, min: 1, max: 1024 } },
  heads: { option: 'heads', rule: { int: true, min: 1 } },
  steps: { option: 'steps', rule: { int: true, min: 1 } },
  batch: { option: 'batch', rule: { int: true, min: 1 } },
  seq: { option: 'seq', rule: { int: true, min: 1 } },
  lr: { option: 'lr', rule: { min: 0 } },
  minLr: { option: 'min-lr', rule: { min: 0 } },
  warmup: { option: 'warmup', rule: { int: true, min: 0 } },
  accum: { option: 'accum', rule: { int: true, min: 1, max: 4096 } },
  clip: { option: 'clip', rule: { min: 0 } },
  weightDecay: { option: 'weight-decay', rule: { min: 0 } },
  seed: { option: 'seed', rule: { int: true, min: 0, max: 0xffffffff } },
  every: { option: 'every', rule: { int: true, min: 1 } },
  keep: { option: 'keep', rule: { int: true, min: 0 } },
};

const DEFAULTS: Readonly<Record<string, string>> = {
  d: '64',
  layers: '2',
  heads: '4',
  steps: '200',
  batch: '8',
  seq: '64',
  lr: '3e-3',
  warmup: '10',
  accum: '1',
  clip: '1',
  'weight-decay': '0.1',
  seed: '0',
  every: '50',
  keep: '2',
};

function ruleText(rule: NumberRule): string {
  const range = [rule.min !== undefined ? `>= ${rule.min}` : '', rule.max !== undefined ? `<= ${rule.max}` : '']
    .filter(Boolean)
    .join(' and ');
  return `${rule.int ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}`;
}

/** Why `n` breaks `rule`, or undefined. */
function breaks(n: number, rule: NumberRule): boolean {
  return (
    !Number.isFinite(n) ||
    (rule.int === true && !Number.isSafeInteger(n)) ||
    (rule.min !== undefined && n < rule.min) ||
    (rule.max !== undefined && n > rule.max)
  );
}

/** A number option: `--name VALUE` (string) -> number, or a UsageError. */
export function numberOption(value: string | undefined, name: string, rule: NumberRule): number {
  const n = value === undefined || value.trim() === '' ? NaN : Number(value);
  if (breaks(n, rule)) throw new UsageError(`--${name} must be ${ruleText(rule)}, got ${value === undefined ? 'nothing' : `"${value}"`}`);
  return n;
}

type OptionValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

/** RunArgs from the command line (defaults applied; `init` and `vocab` as given). */
export function runArgsFromOptions(v: OptionValues, usage: string): RunArgs {
  if (typeof v['ids'] !== 'string') throw new UsageError(`--ids FILE is required\n\n${usage}`);
  const get = (key: string): number => {
    const { option, rule } = RULES[key]!;
    const raw = v[option] as string | undefined;
    return numberOption(raw ?? DEFAULTS[option], option, rule);
  };
  const lr = get('lr');
  if (lr <= 0) throw new UsageError(`--lr must be a number > 0, got "${v['lr'] as string}"`);
  const clip = get('clip');
  return {
    ids: path.resolve(v['ids']),
    ...(typeof v['init'] === 'string' ? { init: path.resolve(v['init']) } : {}),
    ...(v['vocab'] !== undefined ? { vocab: get('vocab') } : {}),
    d: get('d'),
    layers: get('layers'),
    heads: get('heads'),
    steps: get('steps'),
    batch: get('batch'),
    seq: get('seq'),
    lr,
    minLr: v['min-lr'] !== undefined ? get('minLr') : lr / 10,
    warmup: get('warmup'),
    accum: get('accum'),
    clip: clip || Infinity,
    weightDecay: get('weightDecay'),
    freeze: (v['freeze'] as string[] | undefined) ?? [],
    seed: get('seed'),
    every: get('every'),
    keep: get('keep'),
  };
}

/** run.json as written (Infinity clip as null). */
export function runJson(a: RunArgs): string {
  return JSON.stringify({ ...a, clip: a.clip === Infinity ? null : a.clip }, null, 2) + '\n';
}

/** RunArgs from run.json text, every field checked; a bad file is a CheckpointError naming the field. */
export function runArgsFromJson(text: string, file: string): RunArgs {
  const fail = (msg: string): never => {
    throw new CheckpointError(
      `${file}: ${msg}; this file is written by \`zipper train\` when a run starts: restore it, or start a new run in another --out`,
    );
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail(`not valid JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fail(`must hold a JSON object, got ${showValue(raw)}`);
  const o = raw as Record<string, unknown>;
  const field = (key: string, optional = false): number | undefined => {
    const x = o[key];
    if (optional && x === undefined) return undefined;
    const { rule } = RULES[key]!;
    if (typeof x !== 'number' || breaks(x, rule)) fail(`"${key}" must be ${ruleText(rule)}, got ${showValue(x)}`);
    return x as number;
  };
  const str = (key: string, optional = false): string | undefined => {
    const x = o[key];
    if (optional && x === undefined) return undefined;
    if (typeof x !== 'string' || x === '') fail(`"${key}" must be a file path (a non-empty string), got ${showValue(x)}`);
    return x as string;
  };
  const ids = str('ids')!;
  const freeze = o['freeze'] ?? [];
  if (!Array.isArray(freeze) || !freeze.every((f) => typeof f === 'string'))
    fail(`"freeze" must be an array of strings, got ${showValue(freeze)}`);
  const clip = o['clip'];
  if (clip !== null && (typeof clip !== 'number' || breaks(clip, RULES['clip']!.rule) || clip === 0))
    fail(`"clip" must be a number > 0 or null (no clipping), got ${showValue(clip)}`);
  const init = str('init', true);
  const vocab = field('vocab', true);
  const lr = field('lr')!;
  if (lr <= 0) fail(`"lr" must be a number > 0, got ${showValue(lr)}`);
  return {
    ids,
    ...(init !== undefined ? { init } : {}),
    ...(vocab !== undefined ? { vocab } : {}),
    d: field('d')!,
    layers: field('layers')!,
    heads: field('heads')!,
    steps: field('steps')!,
    batch: field('batch')!,
    seq: field('seq')!,
    lr,
    minLr: field('minLr')!,
    warmup: field('warmup')!,
    accum: field('accum')!,
    clip: clip === null ? Infinity : (clip as number),
    weightDecay: field('weightDecay')!,
    freeze: freeze as string[],
    seed: field('seed')!,
    every: field('every')!,
    keep: field('keep')!,
  };
}

/**
 * One sequence per line (whitespace-separated decimal ids) or a JSON array of id arrays. Ids
 * must be integers in [0, 2^31): the model reads them as int32.
 */
export function parseIdSequences(text: string, source: string): number[][] {
  const trimmed = text.trim();
  let seqs: unknown[];
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (e) {
      throw new UsageError(`${source}: not valid JSON (${(e as Error).message}); write one sequence per line or a JSON array of id arrays`);
    }
    if (!Array.isArray(parsed) || !parsed.every((s) => Array.isArray(s)))
      throw new UsageError(`${source}: JSON must be an array of id arrays, like [[1, 2, 3], [4, 5]]`);
    seqs = parsed;
  } else {
    seqs = trimmed
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) =>
        l
          .trim()
          .split(/\s+/)
          .map((w) => (/^\d{1,15}$/.test(w) ? Number(w) : w)),
      );
  }
  seqs.forEach((s, i) => {
    const bad = (s as unknown[]).find((x) => typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0 || x > 0x7fffffff);
    if (bad !== undefined)
      throw new UsageError(`${source}: sequence ${i + 1} holds ${showValue(bad)}; ids must be integers in [0, 2147483647]`);
  });
  if (seqs.length === 0) throw new UsageError(`${source}: no sequences; write one sequence of ids per line`);
  return seqs as number[][];
}

/** Parameters of a tower (tied embedding, no biases; see @zipper/core towerParamSpecs). */
export function parameterCount(vocab: number, d: number, layers: number, mlpRatio = 4): number {
  return vocab * d + layers * (4 * d * d + 2 * mlpRatio * d * d + 2 * d) + d;
}

/** Refuses towers and batches that would allocate more than this command is meant for. */
export function checkSize(vocab: number, a: Pick<RunArgs, 'd' | 'layers' | 'heads' | 'batch' | 'seq'>, vocabSource: string): void {
  // (the checks multiply validated integers; a product past 2^53 is still far past the limits)
  const params = parameterCount(vocab, a.d, a.layers);
  if (params > MAX_PARAMETERS) {
    throw new UsageError(
      `a tower of vocabulary ${vocab} (${vocabSource}), --d ${a.d}, --layers ${a.layers} has ${params.toExponential(2)} parameters, more than this command trains (${MAX_PARAMETERS}); lower --d / --layers, or check the ids`,
    );
  }
  const scores = a.layers * a.batch * a.heads * a.seq * a.seq;
  if (scores > MAX_ATTENTION_VALUES) {
    throw new UsageError(
      `--layers ${a.layers} x --batch ${a.batch} x --heads ${a.heads} x --seq ${a.seq}^2 = ${scores.toExponential(2)} attention scores per step, more than ${MAX_ATTENTION_VALUES} (the wasm heap ends at 4 GB); lower --seq or --batch`,
    );
  }
}
