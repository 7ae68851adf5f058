/**
 * A seeded, resumable batch iterator over token sequences.
 *
 * Legend: B batch, T time (sequence length of a training window).
 *
 * Each sequence is cut into windows of T + 1 tokens starting at 0, T, 2T, ... (inputs are the
 * first T, targets the last T). A short tail is padded with `padId` and its padded targets get
 * mask 0; an optional per-token mask (1 = this token is a target to learn) masks more. Every
 * epoch visits each window once, in an order that is a function of (seed, epoch) only; batches
 * run across epoch boundaries, so every batch is full. The state `{ seed, epoch, cursor }` is
 * the whole position (and RNG state): `restore(state)` continues with exactly the same batches.
 */
import { CheckpointError, ConfigError, ShapeError } from '../errors.js';
import { ShuffleRng, mix32 } from './rng.js';

/** One batch as plain typed arrays (row-major [B, T]); serializable, so workers can take it. */
export interface Batch {
  readonly batchSize: number;
  readonly seqLen: number;
  /** int32 [B, T]: tokens fed to the model. */
  readonly inputs: Int32Array;
  /** int32 [B, T]: next tokens to predict. */
  readonly targets: Int32Array;
  /** float32 [B, T] of 0/1: which targets count in the loss. */
  readonly mask: Float32Array;
}

/** A token sequence, with an optional per-token mask (1 = learn to predict this token). */
export type TokenSequence = ArrayLike<number> | { readonly tokens: ArrayLike<number>; readonly mask?: ArrayLike<number> };

export interface BatchIteratorConfig {
  readonly batchSize: number;
  readonly seqLen: number;
  readonly seed: number;
  /** Shuffle windows every epoch (default true); false = corpus order. */
  readonly shuffle: boolean;
  /** Token used to pad short windows (default 0); padded targets are masked out. */
  readonly padId: number;
}

/**
 * Where the Trainer gets batches: anything with `next()` and a JSON-serializable position
 * (`state`, saved in checkpoints) that `restore` returns to exactly. `BatchIterator` is the
 * one for single-stream token data; a multi-stream (fused) model brings its own batch type.
 */
export interface BatchSource<B = Batch, S = unknown> {
  next(): B;
  /** A snapshot of the position (not a live object): the Trainer restores it when a step fails. */
  readonly state: S;
  /** Continue from a saved `state`; throws (changing nothing) when it does not fit this data. */
  restore(state: S): void;
}

/** The whole position of the iterator. */
export interface DataState {
  readonly seed: number;
  readonly epoch: number;
  /** Index of the next window within the epoch's order. */
  readonly cursor: number;
  /** Number of windows (checked on restore: the data must not have changed). */
  readonly windows: number;
}

export function resolveBatchIteratorConfig(
  partial: Partial<BatchIteratorConfig> & Pick<BatchIteratorConfig, 'batchSize' | 'seqLen'>,
): BatchIteratorConfig {
  const c: BatchIteratorConfig = {
    batchSize: partial.batchSize,
    seqLen: partial.seqLen,
    seed: partial.seed ?? 0,
    shuffle: partial.shuffle ?? true,
    padId: partial.padId ?? 0,
  };
  if (!Number.isInteger(c.batchSize) || c.batchSize < 1)
    throw new ConfigError(`data.batchSize must be an integer >= 1, got ${c.batchSize}`);
  if (!Number.isInteger(c.seqLen) || c.seqLen < 1) throw new ConfigError(`data.seqLen must be an integer >= 1, got ${c.seqLen}`);
  if (!Number.isInteger(c.seed) || c.seed < 0 || c.seed > 0xffffffff) throw new ConfigError(`data.seed must be a uint32, got ${c.seed}`);
  if (!Number.isInteger(c.padId) || c.padId < 0) throw new ConfigError(`data.padId must be an integer >= 0, got ${c.padId}`);
  return c;
}

interface Window {
  readonly seq: number;
  readonly start: number;
}

export class BatchIterator implements BatchSource<Batch, DataState> {
  readonly config: BatchIteratorConfig;
  private readonly tokens: readonly ArrayLike<number>[];
  private readonly masks: readonly (ArrayLike<number> | undefined)[];
  private readonly windows: readonly Window[];
  private epoch = 0;
  private cursor = 0;
  private order: Uint32Array | undefined;
  private orderEpoch = -1;

  constructor(
    sequences: readonly TokenSequence[],
    config: Partial<BatchIteratorConfig> & Pick<BatchIteratorConfig, 'batchSize' | 'seqLen'>,
  ) {
    this.config = resolveBatchIteratorConfig(config);
    const T = this.config.seqLen;
    const tokens: ArrayLike<number>[] = [];
    const masks: (ArrayLike<number> | undefined)[] = [];
    const windows: Window[] = [];
    sequences.forEach((s, i) => {
      const t = 'tokens' in s ? s.tokens : (s as ArrayLike<number>);
      const m = 'tokens' in s ? s.mask : undefined;
      if (m && m.length !== t.length) throw new ShapeError(`sequence ${i}: mask has ${m.length} entries for ${t.length} tokens`);
      tokens.push(t);
      masks.push(m);
      for (let start = 0; start + 1 < t.length; start += T) {
        let counted = false;
        for (let j = start + 1; j <= Math.min(start + T, t.length - 1) && !counted; j++) counted = !m || m[j] !== 0;
        if (counted) windows.push({ seq: i, start });
      }
    });
    if (windows.length === 0) throw new ShapeError('no training window: every sequence is shorter than 2 tokens or fully masked');
    this.tokens = tokens;
    this.masks = masks;
    this.windows = windows;
  }

  /** Number of windows in one epoch. */
  get size(): number {
    return this.windows.length;
  }

  get state(): DataState {
    return { seed: this.config.seed, epoch: this.epoch, cursor: this.cursor, windows: this.windows.length };
  }

  /** Continue from a saved position. Throws CheckpointError when the seed or the data differ. */
  restore(state: DataState): void {
    if (state.seed !== this.config.seed)
      throw new CheckpointError(
        `data seed ${state.seed} in the checkpoint differs from this iterator's ${this.config.seed}; build the iterator with the saved seed`,
      );
    if (state.windows !== this.windows.length) {
      throw new CheckpointError(
        `the checkpoint was made over ${state.windows} windows, this data has ${this.windows.length}; resume with the same sequences and seqLen`,
      );
    }
    if (
      !Number.isInteger(state.epoch) ||
      state.epoch < 0 ||
      !Number.isInteger(state.cursor) ||
      state.cursor < 0 ||
      state.cursor >= this.windows.length
    ) {
      throw new CheckpointError(`invalid data position epoch=${state.epoch} cursor=${state.cursor}`);
    }
    this.epoch = state.epoch;
    this.cursor = state.cursor;
  }

  /** The next batch (B windows), advancing the position. */
  next(): Batch {
    const { batchSize: B, seqLen: T, padId } = this.config;
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    const mask = new Float32Array(B * T);
    for (let b = 0; b < B; b++) {
      const w = this.windows[this.orderOf(this.epoch)[this.cursor]!]!;
      this.cursor++;
      if (this.cursor === this.windows.length) {
        this.cursor = 0;
        this.epoch++;
      }
      const t = this.tokens[w.seq]!;
      const m = this.masks[w.seq];
      for (let i = 0; i < T; i++) {
        const a = w.start + i;
        inputs[b * T + i] = a < t.length ? t[a]! : padId;
        const inside = a + 1 < t.length;
        targets[b * T + i] = inside ? t[a + 1]! : padId;
        mask[b * T + i] = inside && (!m || m[a + 1] !== 0) ? 1 : 0;
      }
    }
    return { batchSize: B, seqLen: T, inputs, targets, mask };
  }

  private orderOf(epoch: number): Uint32Array {
    if (this.orderEpoch !== epoch || !this.order) {
      const n = this.windows.length;
      if (this.config.shuffle) {
        this.order = new ShuffleRng(mix32((this.config.seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0)).permutation(n);
      } else {
        this.order = new Uint32Array(n);
        for (let i = 0; i < n; i++) this.order[i] = i;
      }
      this.orderEpoch = epoch;
    }
    return this.order;
  }
}

/** Stack batches of the same T into one batch of the summed batch size (rows in order). */
export function concatBatches(batches: readonly Batch[]): Batch {
  const first = batches[0];
  if (!first) throw new ShapeError('concatBatches needs at least one batch');
  const T = first.seqLen;
  if (batches.some((b) => b.seqLen !== T)) throw new ShapeError('concatBatches: batches have different seqLen');
  const B = batches.reduce((s, b) => s + b.batchSize, 0);
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const mask = new Float32Array(B * T);
  let o = 0;
  for (const b of batches) {
    inputs.set(b.inputs, o);
    targets.set(b.targets, o);
    mask.set(b.mask, o);
    o += b.batchSize * T;
  }
  return { batchSize: B, seqLen: T, inputs, targets, mask };
}
