/**
 * Decoding a zipped model (docs/zipper.md, "Decoding"): after the input segments, the model opens
 * a segment of the first output tower with its bos, generates until that tower's eos (or the
 * length limit), closes the segment with eos, opens the next output tower's segment, and so on.
 * All of core's sampling options apply (greedy, temperature, top-k, top-p, seed); sampling is
 * core's `sampleToken`.
 *
 * Caches (default): each tower's self-attention KV cache and each link's cross-attention keys and
 * values (`Zipper.run` with `keepState`): a source position's keys/values are computed once,
 * when the position is fed. `useCache: false` recomputes the whole sequence for every token
 * (the reference the cached path is tested against; both give the same tokens).
 *
 * Batching: rows run together while their per-tower stream lengths are equal (no padding in a
 * decode batch); rows whose inputs differ in shape, or that switch modality at different steps,
 * continue as separate groups (the state is split by row). Groups advance one token per round in
 * a fixed order, rows in order within a group, so the sampling PRNG is consumed in the same
 * order with and without the cache. No tensors outlive the call.
 *
 * Classifier-free guidance (`guidance`, beyond the paper): each row also decodes, in lockstep, an
 * unconditional twin (the caller's input for it, e.g. the empty text segment); the row samples
 * from cond + scale * (cond - uncond) and both are fed the sampled token. The twins are rows of
 * their own (grouped and cached like any row), so guidance costs one more row per row.
 *
 * Input noise (`inputNoise`, beyond the paper): the decode-side twin of training's unit noise
 * (input-noise.ts): each generated token of the named towers is fed back, with probability
 * `rate`, as a random token instead; the returned ids are the sampled ones. A model trained on
 * corrupted pasts then decodes from pasts like those. Its draws come from a PRNG of their own
 * (seeded by `seed` and "input-noise"), so the sampling PRNG's order is the same at every rate.
 *
 * Legend: B rows of a group, V the current tower's vocabulary.
 */
import type * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  hashSeed,
  Rng,
  TokenRangeError,
  resolveSamplingConfig,
  sampleToken,
  type FinishReason,
  type SamplingConfig,
} from '@zipper/core';
import { towerSpec, type ZipperConfig } from './config.js';
import { resolveCrossWindows, type CrossWindow } from './cross-window.js';
import { UnknownTowerError } from './errors.js';
import { noisyToken, resolveInputNoise, type InputNoise } from './input-noise.js';
import { checkExample, layoutBatch, type Example, type Segment } from './segments.js';
import { disposeZipperState, sliceZipperState, type StreamInput, type ZipperState } from './state.js';
import type { Zipper } from './zipper.js';

export interface ZippedTokenEvent {
  readonly row: number;
  readonly tower: string;
  readonly token: number;
  /** Index of the output segment (0 = the first tower of `output`). */
  readonly segment: number;
  /** 0 for the first token of the segment. */
  readonly step: number;
}

export interface ZippedGenerateOptions extends Partial<SamplingConfig> {
  /** Output-modality schedule, e.g. ['text'] (ASR), ['speech'] (TTS), ['text', 'speech']. */
  readonly output: readonly string[];
  /** Most tokens per output segment (eos not counted), one number or per tower. */
  readonly maxNewTokens: number | Readonly<Record<string, number>>;
  /** Seed of the sampling PRNG (same seed => same tokens). Default 0. */
  readonly seed?: number;
  /**
   * Tokens that end the open segment as its eos does (finishReason 'stop'; the token is not
   * returned, and the sequence continues as if eos had been sampled): one list for every output
   * tower, or a list per tower (core's `generate` option, per modality here).
   */
  readonly stopTokens?: readonly number[] | Readonly<Record<string, readonly number[]>>;
  /** Use the self- and cross-attention caches (default true). */
  readonly useCache?: boolean;
  /** Streaming: called for every generated token (not for eos). */
  readonly onToken?: (e: ZippedTokenEvent) => void;
  /**
   * Classifier-free guidance: row i samples from cond + scale * (cond - uncond), where uncond is the
   * same decode (the same generated tokens) after `inputs[i]` instead of the row's input. Scale 0
   * is plain decoding; one unconditional example per input.
   */
  readonly guidance?: ZippedGuidance;
  /**
   * Decode-time input noise: each generated token of `towers` is fed back replaced, with
   * probability `rate` in [0, 1), by a token drawn uniformly from the tower's vocabulary without
   * bos and eos (as training's `InputNoise`); results keep the sampled tokens. Default none.
   */
  readonly inputNoise?: InputNoise;
  /**
   * Cross windows (cross-window.ts; beyond the paper): the links of each pair read only the source
   * positions within `width` of their cross-rope diagonal, e.g. `[{ to: 'speech', from: 'text',
   * width: 2 }]` holds synthesis to the text's pace. Default none. A single decoder has no links.
   */
  readonly crossWindow?: readonly CrossWindow[];
}

export interface ZippedGuidance {
  /** >= 0; 0 decodes without guidance. */
  readonly scale: number;
  /** Per input row, its unconditional input (e.g. `[wrapSegment(config, 'text', [])]`, the empty text). */
  readonly inputs: readonly Example[];
}

export interface GeneratedSegment {
  readonly tower: string;
  /** Generated ids, without bos and eos. */
  readonly ids: number[];
  /** 'stop': the tower's eos was generated; 'length': the limit was reached. */
  readonly finishReason: FinishReason;
}

export interface ZippedGenerateResult {
  /** Per row: the generated segments, in `output` order. */
  readonly rows: GeneratedSegment[][];
}

interface Group {
  rows: number[];
  /** Index into `output` of the open segment. */
  k: number;
  /** Tokens generated in the open segment. */
  count: number;
  /** Global index of the next position (equal for every row of a group). */
  next: number;
  state: ZipperState | undefined;
  /** Logits of the open tower's last position, [B, V]. */
  host: Float32Array;
}

/**
 * `stopTokens` checked against the output towers: per output tower, the tokens that end its
 * segment as its eos does (the zipped model and the single-decoder baseline both use this).
 */
export function resolveStopTokens(
  config: ZipperConfig,
  output: readonly string[],
  stopTokens: ZippedGenerateOptions['stopTokens'],
): ReadonlyMap<string, ReadonlySet<number>> {
  const stops = new Map<string, ReadonlySet<number>>();
  for (const tower of new Set(output)) {
    const list = Array.isArray(stopTokens) ? stopTokens : (stopTokens as Record<string, readonly number[]> | undefined)?.[tower];
    const v = towerSpec(config, tower).config.vocabSize;
    for (const id of list ?? [])
      if (!Number.isInteger(id) || id < 0 || id >= v)
        throw new TokenRangeError(`stop token ${String(id)} is outside [0, ${v}) of tower "${tower}"`);
    stops.set(tower, new Set(list ?? []));
  }
  if (stopTokens !== undefined && !Array.isArray(stopTokens))
    for (const name of Object.keys(stopTokens))
      if (!output.includes(name))
        throw new UnknownTowerError(`stopTokens names tower "${name}", which is not in output [${output.join(', ')}]`);
  return stops;
}

/**
 * `guidance` checked against `rows` inputs: scale 0 (or none) gives no twins; else one valid
 * unconditional example per row (the zipped model and the single-decoder baseline both use this).
 */
export function resolveGuidance(
  config: ZipperConfig,
  rows: number,
  guidance: ZippedGuidance | undefined,
): { readonly scale: number; readonly inputs: readonly Example[] } {
  const scale = guidance?.scale ?? 0;
  if (!(scale >= 0) || !Number.isFinite(scale)) throw new ConfigError(`guidance.scale must be a finite number >= 0, got ${String(scale)}`);
  if (scale === 0) return { scale, inputs: [] };
  const twins = (guidance as ZippedGuidance).inputs;
  if (!Array.isArray(twins) || twins.length !== rows)
    throw new ConfigError(
      `guidance.inputs must hold one unconditional example per input (${rows}), got ${Array.isArray(twins) ? twins.length : String(twins)}`,
    );
  twins.forEach((ex, b) => checkExample(config, ex, b));
  return { scale, inputs: twins };
}

export async function generateZipped(
  zipper: Zipper,
  inputs: readonly Example[],
  options: ZippedGenerateOptions,
): Promise<ZippedGenerateResult> {
  const c = zipper.config;
  const sampling = resolveSamplingConfig(options);
  const output = options.output;
  if (!Array.isArray(output) || output.length === 0) throw new ConfigError('output must name at least one tower, e.g. ["text"]');
  for (const o of output)
    if (!c.towers.some((t) => t.name === o))
      throw new UnknownTowerError(`output names tower "${String(o)}"; this model's towers are ${c.towers.map((t) => t.name).join(', ')}`);
  const limitOf = (tower: string): number => {
    const m = typeof options.maxNewTokens === 'number' ? options.maxNewTokens : options.maxNewTokens?.[tower];
    if (!Number.isInteger(m) || (m as number) < 1)
      throw new ConfigError(`maxNewTokens for tower "${tower}" must be a positive integer, got ${String(m)}`);
    return m as number;
  };
  output.forEach(limitOf);
  const stops = resolveStopTokens(c, output, options.stopTokens);
  if (!Array.isArray(inputs) || inputs.length === 0) throw new ConfigError('inputs must hold at least one example (a list of segments)');
  inputs.forEach((ex, b) => checkExample(c, ex, b));
  const { scale, inputs: twins } = resolveGuidance(c, inputs.length, options.guidance);
  resolveCrossWindows(c, options.crossWindow); // a bad window fails before any decoding
  const window = options.crossWindow && options.crossWindow.length > 0 ? { window: options.crossWindow } : {};
  const nRows = inputs.length; // rows nRows + i are the unconditional twins of rows i
  const all: readonly Example[] = [...inputs, ...twins];
  const useCache = options.useCache ?? true;
  const rng = new Rng(options.seed ?? 0);
  const noise = options.inputNoise ? resolveInputNoise(c, options.inputNoise) : undefined;
  const noiseRng = new Rng(hashSeed(options.seed ?? 0, 'input-noise'));
  /** Per row, the token fed for this round's sampled one (absent: the sampled token itself); a twin takes its row's. */
  const fedFor = new Map<number, number>();

  // Per row: the whole sequence so far (segments; the last one open) and the generated segments.
  const seqs: Segment[][] = all.map((ex: Example) => [
    ...ex.map((s: Segment) => ({ tower: s.tower, ids: [...s.ids] })),
    { tower: output[0] as string, ids: [towerSpec(c, output[0] as string).bos] },
  ]);
  const results: GeneratedSegment[][] = all.map(() => []);
  const open: number[][] = all.map(() => []);
  const shapeOf = (r: number) =>
    c.towers.map((t) => seqs[r]!.filter((s) => s.tower === t.name).reduce((n, s) => n + s.ids.length, 0)).join(',');
  const byShape = new Map<string, number[]>();
  all.forEach((_, r) => byShape.set(shapeOf(r), [...(byShape.get(shapeOf(r)) ?? []), r]));

  let groups: Group[] = [];
  try {
    for (const rows of byShape.values()) {
      const next = seqs[rows[0]!]!.reduce((n, s) => n + s.ids.length, 0);
      const g: Group = { rows, k: 0, count: 0, next, state: undefined, host: new Float32Array() };
      await prefill(g);
      groups.push(g);
    }
    while (groups.length > 0) {
      const forced = new Set(groups.filter(isForced));
      const tokens = choose(groups, forced);
      const after: Group[] = [];
      for (const g of groups) after.push(...(await advance(g, tokens, forced.has(g))));
      groups = after;
    }
  } finally {
    for (const g of groups) disposeZipperState(g.state);
  }
  return { rows: results.slice(0, nRows) };

  /** Whether group g's open segment must end now (its token limit, or its tower's context is full). */
  function isForced(g: Group): boolean {
    const tower = output[g.k] as string;
    const spec = towerSpec(c, tower);
    const streamLen = seqs[g.rows[0]!]!.filter((s) => s.tower === tower).reduce((m, s) => m + s.ids.length, 0);
    return g.count >= limitOf(tower) || streamLen + 2 > spec.config.maxSeqLen;
  }

  /**
   * This round's token of every open row (row -> token), sampled in group order, rows in order
   * (the PRNG's order without guidance too); a twin takes its row's token.
   */
  function choose(live: readonly Group[], forcedGroups: ReadonlySet<Group>): Map<number, number> {
    const at = new Map<number, { g: Group; j: number }>();
    for (const g of live) g.rows.forEach((r, j) => at.set(r, { g, j }));
    const chosen = new Map<number, number>();
    fedFor.clear();
    for (const g of live) {
      const tower = output[g.k] as string;
      const spec = towerSpec(c, tower);
      const v = spec.config.vocabSize;
      const forced = forcedGroups.has(g);
      g.rows.forEach((r, j) => {
        if (r >= nRows) return; // a twin: its row chooses
        let logits = g.host.subarray(j * v, (j + 1) * v);
        const twin = scale > 0 ? at.get(r + nRows) : undefined;
        if (twin) {
          const u = twin.g.host.subarray(twin.j * v, (twin.j + 1) * v);
          logits = logits.map((x, k) => x + scale * (x - (u[k] as number)));
        }
        // A segment holds its bos only at its start: never sample it (sampled speech could otherwise
        // contain the speech bos, which no vocoder can decode).
        logits[spec.bos] = -Infinity;
        let tok = forced ? spec.eos : sampleToken(logits, sampling, rng);
        if (stops.get(tower)!.has(tok)) tok = spec.eos; // ends the segment as eos does
        chosen.set(r, tok);
        if (scale > 0) chosen.set(r + nRows, tok);
        if (noise && tok !== spec.eos && noise.towers.includes(tower)) {
          const fed = noisyToken(c, tower, tok, noise.rate, noiseRng);
          fedFor.set(r, fed);
          if (scale > 0) fedFor.set(r + nRows, fed);
        }
      });
    }
    return chosen;
  }

  /** Logits of the open position for a fresh group (cached: prefill and keep the state). */
  async function prefill(g: Group): Promise<void> {
    const tower = output[g.k] as string;
    const batch = layoutBatch(
      c,
      g.rows.map((r) => seqs[r]!),
    );
    const out = zipper.run(batch.streams, g.rows.length, {
      logits: [tower],
      lastOnly: true,
      keepState: useCache,
      futureReaders: output.slice(g.k),
      ...window,
    });
    g.state = out.state;
    g.host = await hostLogits(out.logits[tower] as tf.Tensor3D);
  }

  /** One round for a group: its rows' chosen tokens (`forced`: the segment had to end), then feed; returns the groups that continue. */
  async function advance(g: Group, chosen: ReadonlyMap<number, number>, forced: boolean): Promise<Group[]> {
    const tower = output[g.k] as string;
    const spec = towerSpec(c, tower);
    const tokens = g.rows.map((r) => chosen.get(r) as number);
    // what the model reads back: the sampled token, or its input-noise replacement
    const fed = g.rows.map((r, j) => fedFor.get(r) ?? (tokens[j] as number));
    const going: number[] = [];
    const ending: number[] = [];
    g.rows.forEach((r, j) => {
      const tok = tokens[j] as number;
      if (tok === spec.eos) {
        results[r]!.push({ tower, ids: open[r]!, finishReason: forced ? 'length' : 'stop' });
        open[r] = [];
        ending.push(j);
      } else {
        open[r]!.push(tok);
        if (r < nRows) options.onToken?.({ row: r, tower, token: tok, segment: g.k, step: g.count });
        going.push(j);
      }
      (seqs[r]!.at(-1)!.ids as number[]).push(fed[j] as number);
    });
    const parts: { idx: number[]; ending: boolean }[] = [];
    if (going.length > 0) parts.push({ idx: going, ending: false });
    if (ending.length > 0) parts.push({ idx: ending, ending: true });
    const out: Group[] = [];
    try {
      for (const p of parts) {
        const state = g.state && parts.length > 1 ? sliceZipperState(g.state, p.idx) : g.state;
        const h: Group = {
          rows: p.idx.map((j) => g.rows[j]!),
          k: g.k,
          count: g.count + 1,
          next: g.next + 1,
          state,
          host: new Float32Array(),
        };
        const B = h.rows.length;
        const fill = (id: number, global: number) => ({
          length: 1,
          ids: new Int32Array(B).fill(id),
          global: new Int32Array(B).fill(global),
        });
        if (!p.ending) {
          await feed(
            h,
            { [tower]: { length: 1, ids: Int32Array.from(p.idx.map((j) => fed[j] as number)), global: new Int32Array(B).fill(g.next) } },
            tower,
          );
        } else if (g.k + 1 >= output.length) {
          disposeZipperState(state); // every output segment is done
          continue;
        } else {
          // close the segment (its eos sits at global g.next) and open the next tower's (bos at g.next + 1)
          h.k = g.k + 1;
          h.count = 0;
          h.next = g.next + 2;
          const nextTower = output[h.k] as string;
          const bos = towerSpec(c, nextTower).bos;
          for (const r of h.rows) seqs[r]!.push({ tower: nextTower, ids: [bos] });
          const feeds: Record<string, StreamInput> =
            nextTower === tower
              ? {
                  [tower]: {
                    length: 2,
                    ids: Int32Array.from({ length: 2 * B }, (_, i) => (i % 2 === 0 ? spec.eos : bos)),
                    global: Int32Array.from({ length: 2 * B }, (_, i) => g.next + (i % 2)),
                  },
                }
              : { [tower]: fill(spec.eos, g.next), [nextTower]: fill(bos, g.next + 1) };
          await feed(h, feeds, nextTower);
        }
        out.push(h);
      }
    } finally {
      if (parts.length > 1) disposeZipperState(g.state);
    }
    return out;
  }

  /** Runs the new positions of group h (cached) or its whole sequences (uncached); stores the open tower's logits. */
  async function feed(h: Group, inputs: Record<string, StreamInput>, tower: string): Promise<void> {
    if (!useCache) {
      const batch = layoutBatch(
        c,
        h.rows.map((r) => seqs[r]!),
      );
      const out = zipper.run(batch.streams, h.rows.length, { logits: [tower], lastOnly: true, ...window });
      h.host = await hostLogits(out.logits[tower] as tf.Tensor3D);
      return;
    }
    const old = h.state as ZipperState;
    let out;
    try {
      out = zipper.run(inputs, h.rows.length, {
        state: old,
        keepState: true,
        logits: [tower],
        lastOnly: true,
        futureReaders: output.slice(h.k),
        ...window,
      });
    } finally {
      disposeZipperState(old); // replaced by the new state (or, on a throw, no longer needed)
      h.state = undefined;
    }
    h.state = out.state;
    h.host = await hostLogits(out.logits[tower] as tf.Tensor3D);
  }
}

/** [B, 1, V] -> host [B, V]; disposes the tensor. */
async function hostLogits(logits: tf.Tensor3D): Promise<Float32Array> {
  try {
    return (await logits.data()) as Float32Array;
  } finally {
    logits.dispose();
  }
}
