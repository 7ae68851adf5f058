/**
 * Segments -> per-tower streams (docs/zipper.md, "Towers, segments and streams").
 *
 * An example is a list of segments in linear order, each `{ tower, ids, target? }`; every
 * segment opens with its tower's `bos`. Each token has a global index g (its position in the
 * concatenation of all segments). A tower's stream is the concatenation of its own segments;
 * streams are right-padded to the longest in the batch (global index -1 marks padding).
 * Position i of a stream predicts stream[i + 1] when both lie in the same segment and that
 * segment is a target (`target: true`); `bos` is therefore never a target.
 *
 * Everything here is plain typed arrays (serializable, e.g. for data-parallel workers).
 * Legend: B batch, T positions of one tower's stream.
 */
import { TokenRangeError } from '@zipper/core';
import { towerSpec, type ZipperConfig } from './config.js';
import { SegmentError, UnknownTowerError } from './errors.js';

export interface Segment {
  /** Tower (modality) name. */
  readonly tower: string;
  /** Token ids of the tower's vocabulary, starting with its bos (and closed by its eos). */
  readonly ids: readonly number[];
  /** Whether this segment's next tokens are loss targets (default false). */
  readonly target?: boolean;
  /**
   * The ids fed to the tower at each position when they differ from `ids` (input corruption such
   * as `withInputNoise`); as long as `ids`, starting with the same bos. Targets are always `ids`'
   * next tokens (absent: `ids` are fed).
   */
  readonly fed?: readonly number[];
}

/** One example: segments in linear order. */
export type Example = readonly Segment[];

/** One tower's stream of a batch, row-major [B, T]. */
export interface TowerStream {
  /** T: the longest stream of this tower in the batch. */
  readonly length: number;
  /** int32 [B, T]: the fed ids (a segment's `fed` where it has one); padding holds the tower's eos. */
  readonly ids: Int32Array;
  /** int32 [B, T]: global index of each position, -1 for padding. */
  readonly global: Int32Array;
  /** int32 [B]: real positions per row. */
  readonly lengths: Int32Array;
  /** int32 [B, T]: the next token (0 where not a target). */
  readonly targets: Int32Array;
  /** float32 [B, T]: 1 where `targets` counts in the loss. */
  readonly mask: Float32Array;
}

/** A batch laid out per tower. Towers with no position in the batch have no stream. */
export interface FusedBatch {
  readonly batchSize: number;
  /** In the config's tower order. */
  readonly streams: Readonly<Record<string, TowerStream>>;
}

export interface LayoutOptions {
  /** Require every segment to start with its tower's bos (default true). */
  readonly requireBos?: boolean;
}

/** Checks one example against the config; throws a typed error naming the example and segment. */
export function checkExample(config: ZipperConfig, example: Example, row: number, options: LayoutOptions = {}): void {
  if (!Array.isArray(example) || example.length === 0)
    throw new SegmentError(`example ${row} has no segment; give at least one { tower, ids } segment`);
  example.forEach((seg, j) => {
    const where = `example ${row}, segment ${j}`;
    if (seg === null || typeof seg !== 'object') throw new SegmentError(`${where} must be { tower, ids }`);
    if (!config.towers.some((t) => t.name === seg.tower)) {
      throw new UnknownTowerError(
        `${where} names tower "${String(seg.tower)}"; this model's towers are ${config.towers.map((t) => t.name).join(', ')}`,
      );
    }
    const spec = towerSpec(config, seg.tower);
    if (!Array.isArray(seg.ids) || seg.ids.length === 0)
      throw new SegmentError(`${where} (${seg.tower}) is empty; a segment holds at least its tower's bos ${spec.bos}`);
    const v = spec.config.vocabSize;
    const inRange = (ids: readonly number[], what: string) =>
      ids.forEach((id: number, k: number) => {
        if (!Number.isInteger(id) || id < 0 || id >= v) {
          throw new TokenRangeError(
            `${where} (${seg.tower}), ${what}position ${k}: token id ${String(id)} is outside [0, ${v}) of tower "${seg.tower}"; the tokenizer and the tower's vocabSize disagree`,
          );
        }
      });
    inRange(seg.ids, '');
    if (seg.fed !== undefined) {
      if (!Array.isArray(seg.fed) || seg.fed.length !== seg.ids.length || seg.fed[0] !== seg.ids[0])
        throw new SegmentError(
          `${where} (${seg.tower}): fed must be as long as ids (${seg.ids.length}) and start with the same token ${seg.ids[0]}, got ${Array.isArray(seg.fed) ? `${seg.fed.length} ids starting with ${seg.fed[0]}` : typeof seg.fed}`,
        );
      inRange(seg.fed, 'fed ');
    }
    if ((options.requireBos ?? true) && seg.ids[0] !== spec.bos) {
      throw new SegmentError(
        `${where} (${seg.tower}) starts with ${seg.ids[0]}, not the tower's bos ${spec.bos}; wrap content as [bos, ...ids, eos] (see wrapSegment)`,
      );
    }
  });
}

/** `{ tower, ids: [bos, ...content, eos] }` (no eos when `open`). */
export function wrapSegment(
  config: ZipperConfig,
  tower: string,
  content: readonly number[],
  options: { open?: boolean; target?: boolean } = {},
): Segment {
  if (!config.towers.some((t) => t.name === tower))
    throw new UnknownTowerError(`unknown tower "${tower}"; this model's towers are ${config.towers.map((t) => t.name).join(', ')}`);
  const spec = towerSpec(config, tower);
  const ids = options.open ? [spec.bos, ...content] : [spec.bos, ...content, spec.eos];
  return options.target === undefined ? { tower, ids } : { tower, ids, target: options.target };
}

/** Lays a ragged batch of examples out as per-tower streams (see the file header). */
export function layoutBatch(config: ZipperConfig, examples: readonly Example[], options: LayoutOptions = {}): FusedBatch {
  if (!Array.isArray(examples) || examples.length === 0) throw new SegmentError('a batch needs at least one example');
  examples.forEach((ex, b) => checkExample(config, ex, b, options));
  const B = examples.length;
  const streams: Record<string, TowerStream> = {};
  for (const spec of config.towers) {
    const lengths = new Int32Array(B);
    examples.forEach((ex, b) => {
      for (const seg of ex) if (seg.tower === spec.name) lengths[b] += seg.ids.length;
    });
    const T = Math.max(...lengths);
    if (T === 0) continue;
    const ids = new Int32Array(B * T).fill(spec.eos);
    const global = new Int32Array(B * T).fill(-1);
    const targets = new Int32Array(B * T);
    const mask = new Float32Array(B * T);
    examples.forEach((ex, b) => {
      let g = 0;
      let i = 0;
      for (const seg of ex) {
        if (seg.tower === spec.name) {
          const fed = seg.fed ?? seg.ids;
          seg.ids.forEach((_: number, k: number) => {
            ids[b * T + i] = fed[k] as number;
            global[b * T + i] = g + k;
            if (seg.target && k + 1 < seg.ids.length) {
              targets[b * T + i] = seg.ids[k + 1] as number;
              mask[b * T + i] = 1;
            }
            i++;
          });
        }
        g += seg.ids.length;
      }
    });
    streams[spec.name] = { length: T, ids, global, lengths, targets, mask };
  }
  return { batchSize: B, streams };
}

/** Loss targets per tower stream (mask-1 entries). */
export function countStreamTargets(batch: FusedBatch): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, s] of Object.entries(batch.streams)) {
    let n = 0;
    for (let i = 0; i < s.mask.length; i++) n += s.mask[i] !== 0 ? 1 : 0;
    out[name] = n;
  }
  return out;
}
