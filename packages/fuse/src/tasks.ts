/**
 * Multitask data for fine-tuning a zipped model (docs/zipper.md, "Training loss"): aligned items
 * (content ids per tower, without bos/eos) turned into examples of tasks such as ASR
 * (`[speech][text]`, target text) and TTS (`[text][speech]`, target speech), mixed by a ratio.
 *
 * `TaskMixture` is a core `BatchSource<FusedBatch>`: draw n (0, 1, 2, ...) picks its task from a
 * PRNG seeded by (seed, n), its item from a seeded per-epoch permutation and its input noise (if
 * any) from a second PRNG seeded by (seed, n), so the whole position is `{ seed, drawn }` and
 * `restore` continues with exactly the same batches.
 */
import { ConfigError, CheckpointError, hashSeed, Rng, type BatchSource } from '@zipper/core';
import type { ZipperConfig } from './config.js';
import { UnknownTowerError } from './errors.js';
import { resolveInputNoise, withInputNoise, type InputNoise } from './input-noise.js';
import { layoutBatch, wrapSegment, type Example, type FusedBatch } from './segments.js';

/** Input towers' segments in order, then the output tower's segment (the loss target). */
export interface TaskSpec {
  readonly inputs: readonly string[];
  readonly output: string;
}

/** Speech recognition: `[speech][text]`, target text. */
export const ASR: TaskSpec = { inputs: ['speech'], output: 'text' };
/** Speech synthesis: `[text][speech]`, target speech. */
export const TTS: TaskSpec = { inputs: ['text'], output: 'speech' };

/** One aligned item: content ids per tower (no bos/eos). */
export type AlignedItem = Readonly<Record<string, readonly number[]>>;

/** The example of `task` on `item`: each segment wrapped in its tower's bos/eos; the output segment is the target. */
export function taskExample(config: ZipperConfig, task: TaskSpec, item: AlignedItem): Example {
  const seg = (tower: string, target: boolean) => {
    const ids = item[tower];
    if (!ids) throw new UnknownTowerError(`the task needs tower "${tower}" but the item has only ${Object.keys(item).join(', ')}`);
    return wrapSegment(config, tower, ids, { target });
  };
  return [...task.inputs.map((t) => seg(t, false)), seg(task.output, true)];
}

export interface TaskMixtureOptions<B = FusedBatch> {
  readonly batchSize: number;
  /** How a list of examples becomes a batch (default: `layoutBatch`, per-tower streams). */
  readonly layout?: (examples: readonly Example[]) => B;
  readonly seed?: number;
  /**
   * Tasks and their relative weights, e.g. [{ task: ASR, weight: 1 }, { task: TTS, weight: 1.26 }] (the paper's mixture).
   * A task may bring its own items (e.g. ASR on other voices' audio, TTS on the target voice's): as many as
   * the mixture's, index i the same utterance, so the n-th draw picks the same index whichever task it is.
   */
  readonly tasks: readonly { readonly task: TaskSpec; readonly weight: number; readonly items?: readonly AlignedItem[] }[];
  /** Corrupt the fed tokens of these towers' target segments (input-noise.ts; absent or rate 0: none). Draw n's noise is a function of (seed, n). */
  readonly inputNoise?: InputNoise;
}

export interface TaskMixtureState {
  readonly seed: number;
  /** Examples drawn so far. */
  readonly drawn: number;
  /** Number of items (checked on restore: the data must not have changed). */
  readonly items: number;
}

export class TaskMixture<B = FusedBatch> implements BatchSource<B, TaskMixtureState> {
  private drawn = 0;
  private readonly seed: number;
  private readonly cumulative: number[];
  private permutation: { epoch: number; order: Int32Array } | undefined;
  private readonly noise: InputNoise | undefined;

  constructor(
    private readonly config: ZipperConfig,
    private readonly items: readonly AlignedItem[],
    private readonly options: TaskMixtureOptions<B>,
  ) {
    if (!Array.isArray(items) || items.length === 0) throw new ConfigError('TaskMixture needs at least one aligned item');
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1)
      throw new ConfigError(`batchSize must be an integer >= 1, got ${options.batchSize}`);
    this.seed = options.seed ?? 0;
    if (!Number.isInteger(this.seed) || this.seed < 0) throw new ConfigError(`seed must be an integer >= 0, got ${this.seed}`);
    if (options.tasks.length === 0) throw new ConfigError('TaskMixture needs at least one task');
    let total = 0;
    this.cumulative = options.tasks.map(({ task, weight, items: own }) => {
      if (!(weight >= 0) || !Number.isFinite(weight)) throw new ConfigError(`task weight must be a finite number >= 0, got ${weight}`);
      if (own !== undefined && own.length !== items.length)
        throw new ConfigError(
          `a task's own items must be as many as the mixture's (${items.length}, index i the same utterance), got ${own.length}`,
        );
      for (const t of [...task.inputs, task.output])
        if (!config.towers.some((x) => x.name === t))
          throw new UnknownTowerError(`task names tower "${t}"; this model's towers are ${config.towers.map((x) => x.name).join(', ')}`);
      total += weight;
      return total;
    });
    if (!(total > 0)) throw new ConfigError('task weights must not all be 0');
    const noise = options.inputNoise === undefined ? undefined : resolveInputNoise(config, options.inputNoise);
    this.noise = noise && noise.rate > 0 ? noise : undefined;
  }

  /** The n-th example drawn (a pure function of seed and n). */
  example(n: number): Example {
    const u = new Rng(hashSeed(this.seed, `task-${n}`)).next() * (this.cumulative.at(-1) as number);
    const i = this.cumulative.findIndex((c) => u < c);
    const { task, items } = this.options.tasks[i === -1 ? this.cumulative.length - 1 : i]!;
    const example = taskExample(this.config, task, (items ?? this.items)[this.itemAt(n)] as AlignedItem);
    return this.noise ? withInputNoise(this.config, example, this.noise, new Rng(hashSeed(this.seed, `noise-${n}`))) : example;
  }

  next(): B {
    const ex = Array.from({ length: this.options.batchSize }, (_, i) => this.example(this.drawn + i));
    const batch = this.options.layout ? this.options.layout(ex) : (layoutBatch(this.config, ex) as B);
    this.drawn += this.options.batchSize;
    return batch;
  }

  get state(): TaskMixtureState {
    return { seed: this.seed, drawn: this.drawn, items: this.items.length };
  }

  restore(state: TaskMixtureState): void {
    if (state?.seed !== this.seed || state.items !== this.items.length || !Number.isInteger(state.drawn) || state.drawn < 0) {
      throw new CheckpointError(
        `data position ${JSON.stringify(state)} does not fit this TaskMixture (seed ${this.seed}, ${this.items.length} items); resume with the same data and seed`,
      );
    }
    this.drawn = state.drawn;
  }

  /** Index of draw n: position n % size of a seeded permutation of epoch floor(n / size) (shared by every task). */
  private itemAt(n: number): number {
    const size = this.items.length;
    const epoch = Math.floor(n / size);
    if (this.permutation?.epoch !== epoch) {
      const rng = new Rng(hashSeed(this.seed, `epoch-${epoch}`));
      const order = Int32Array.from({ length: size }, (_, i) => i);
      for (let i = size - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
      this.permutation = { epoch, order };
    }
    return this.permutation.order[n % size] as number;
  }
}
