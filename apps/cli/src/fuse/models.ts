/**
 * The two models a fused run trains, behind one interface so that `zipper fuse train` and
 * `zipper baseline train` share the data, the loop, the outputs and the decoding:
 *
 * - `fuse`: the zipped model (`Zipper`) of the text and speech towers, `--cross-layers N` gated
 *   cross-attention layers per direction, `--projection-layers`, `--freeze`; saved as a fused
 *   checkpoint (`saveZipper`: zipper.json + model.safetensors) that names both towers' sha256.
 * - `baseline`: the paper's single decoder (`SingleDecoder`): the text tower with the speech
 *   units as new embedding rows, every weight trained; its one stream holds both segments, so its
 *   maxSeqLen is raised (default: text + speech maxSeqLen; rotary positions have no weights).
 * Both train on data-parallel workers (`fusedDataParallel` / `singleDecoderDataParallel`).
 *   Saved as a core tower checkpoint whose metadata holds the modalities (`baseline` field).
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  CheckpointError,
  loadTower,
  readTowerCheckpointInfo,
  saveTower,
  Tower,
  type DataParallelGradients,
  type GradientStrategy,
  type LossSpec,
} from '@zipper/core';
import {
  ctcAttentionBeam,
  ctcTranscripts,
  freezePrefixes,
  fusedDataParallel,
  fusedGradients,
  fusedLoss,
  generateZipped,
  targetTokenLogProbs,
  type CrossRopeSpec,
  type CtcTranscript,
  type CtcTranscriptOptions,
  type FusedLossOptions,
  type JointDecodeOptions,
  layoutBatch,
  loadZipper,
  saveZipper,
  type SaveZipperOptions,
  SingleDecoder,
  singleDecoderDataParallel,
  Zipper,
  type Example,
  type ZippedGenerateOptions,
  type ZippedGenerateResult,
  type ZipperConfig,
} from '@zipper/fuse';
import { UsageError } from '../command.js';
import { speechSpec, towerEntries, type LoadedTowers } from './towers.js';
import { tokenBytes, type BpeTokenizer } from '@zipper/tokenizers';

export type ModelKind = 'fuse' | 'baseline';

export interface RunModel<B = unknown> {
  readonly kind: ModelKind;
  /** The modalities (towers, bos/eos) for task examples. */
  readonly config: ZipperConfig;
  readonly params: ReadonlyMap<string, tf.Variable>;
  layout(examples: readonly Example[]): B;
  readonly spec: LossSpec<B>;
  readonly local: GradientStrategy<B>;
  /** Data-parallel strategy factory (`--workers N`): each worker a replica of the model. */
  readonly parallel: (workers: number) => DataParallelGradients<B>;
  readonly freezePrefixes: readonly string[];
  /**
   * Writes the model in its release format (a directory, atomically); float16 halves the trained
   * weights' bytes (a release); `sources` names tower checkpoints published since (saveZipper; a
   * single decoder names none); `createdAt` keeps the time the weights were made (a release).
   */
  save(dir: string, options?: SaveZipperOptions): Promise<void>;
  generate(inputs: readonly Example[], options: ZippedGenerateOptions): Promise<ZippedGenerateResult>;
  /** Transcripts by the zipped model's CTC head (present when it has one): per row of speech ids (bos/eos included); ctcTranscripts. */
  readonly ctcTranscripts?: (
    inputs: readonly (readonly number[])[],
    decodeTokens: (ids: number[]) => string,
    options?: CtcTranscriptOptions,
  ) => CtcTranscript[];
  /** Per example, ln p of each target token in order (zipped models; @zipper/fuse targetTokenLogProbs). */
  readonly targetTokenLogProbs?: (examples: readonly Example[]) => Float32Array[];
  /** Joint CTC/attention beam search (zipped models with a CTC head): text token ids per row. */
  readonly jointDecode?: (inputs: readonly (readonly number[])[], options: JointDecodeOptions) => number[][];
  dispose(): void;
}

export interface FuseOptions {
  readonly crossLayers: number;
  readonly projectionLayers: number;
  readonly freeze: readonly string[];
  readonly seed: number;
  /** Initial value of the cross-attention gates (default 0: the paper's). */
  readonly crossGate?: number;
  /** Start the cross-attention output weights at 0 (FusionInitOptions.zeroOutput; default false). */
  readonly zeroOutput?: boolean;
  /** > 0: a CTC head text <- speech (config.ctc) trained with this loss weight (default 0: no head). */
  readonly ctcWeight?: number;
  /** The head's labels: `bytes` (default: the UTF-8 bytes of each text token, 256 classes) or `tokens` (the text tokens). */
  readonly ctcLabels?: CtcLabelKind;
  /** Bidirectional blocks of the CTC head (CtcHeadSpec.encoderLayers; default 0). */
  readonly ctcEncoderLayers?: number;
  /** The text <- speech links read the CTC head's encoder (CtcHeadSpec.feedLinks; default false). */
  readonly ctcFeedLinks?: boolean;
  /** The cross-attention gates keep their initial value (@zipper/fuse freezePrefixes `gates`; default false). */
  readonly freezeGates?: boolean;
  /** Fusion weights held at their initial value, by key prefix (`--freeze-params`; default none). */
  readonly freezeParams?: readonly string[];
  /** > 0: the alignment prior's loss weight (FusedLossOptions.alignWeight; default 0: off). */
  readonly alignWeight?: number;
  /** > 0: TTS examples' fed speech units self-fed at this rate (FusedLossOptions.selfFeed, seeded by `seed`; default 0: off). */
  readonly selfFeed?: number;
  /** Rotary cross positions (config.crossRope; default none). */
  readonly crossRope?: readonly CrossRopeSpec[];
}

export type CtcLabelKind = 'bytes' | 'tokens';

/**
 * Per text token id, its bytes as the byte-level decoder sees them (`tokenBytes`; specials: none):
 * a byte-level CTC alphabet over a BPE tower. A token holding part of a multi-byte character keeps
 * its own bytes (decoding it alone would give U+FFFD's three).
 */
export function tokenBytesMap(tokenizer: BpeTokenizer): number[][] {
  return Array.from({ length: tokenizer.vocabSize }, (_, id) =>
    tokenizer.decode([id], { skipSpecial: true }) === '' ? [] : [...tokenBytes(tokenizer.idToToken(id) as string)],
  );
}

/** The training side of a zipped model: its losses' options and what it holds (absent: the defaults). */
type FuseTraining = Partial<Pick<FuseOptions, 'ctcWeight' | 'alignWeight' | 'freezeGates' | 'freezeParams' | 'selfFeed' | 'seed'>>;

function fuseModel(zipper: Zipper, o: FuseTraining = {}): RunModel {
  const { ctcWeight = 0, alignWeight = 0, freezeGates = false, freezeParams = [], selfFeed = 0 } = o;
  const loss: FusedLossOptions = {
    ...(ctcWeight > 0 && zipper.config.ctc.length > 0 ? { ctcWeight } : {}),
    ...(alignWeight > 0 ? { alignWeight } : {}),
    ...(selfFeed > 0 ? { selfFeed: { rate: selfFeed, towers: ['speech'], seed: o.seed ?? 0 } } : {}),
  };
  return {
    kind: 'fuse',
    config: zipper.config,
    params: zipper.params,
    layout: (ex) => layoutBatch(zipper.config, ex),
    spec: fusedLoss(zipper, undefined, loss) as LossSpec<unknown>,
    local: fusedGradients(zipper, undefined, loss) as GradientStrategy<unknown>,
    parallel: (workers) => fusedDataParallel(zipper, { workers, loss }) as DataParallelGradients<unknown>,
    freezePrefixes: [...freezePrefixes(zipper, { gates: freezeGates }), ...checkFreezeParams(zipper, freezeParams)],
    save: (dir, options) => saveZipper(dir, zipper, options),
    generate: (inputs, options) => generateZipped(zipper, inputs, options),
    targetTokenLogProbs: (examples) => targetTokenLogProbs(zipper, examples),
    ...(zipper.config.ctc.length > 0
      ? {
          ctcTranscripts: (
            inputs: readonly (readonly number[])[],
            decodeTokens: (ids: number[]) => string,
            options?: CtcTranscriptOptions,
          ) => ctcTranscripts(zipper, inputs, decodeTokens, options),
          jointDecode: (inputs: readonly (readonly number[])[], options: JointDecodeOptions) =>
            ctcAttentionBeam(zipper, inputs, options).map((r) => r.ids),
        }
      : {}),
    dispose: () => zipper.dispose(),
  };
}

/** A fresh zipped model of the loaded towers (it takes them: disposing the model disposes them). */
export function createFuseModel(towers: LoadedTowers, o: FuseOptions): RunModel {
  const zipper = Zipper.create(
    towerEntries(towers),
    {
      schedule: { every: o.crossLayers },
      projectionLayers: o.projectionLayers,
      freeze: o.freeze,
      ...(o.crossRope ? { crossRope: o.crossRope } : {}),
      ...((o.ctcWeight ?? 0) > 0
        ? {
            ctc: [
              {
                from: 'speech',
                to: 'text',
                ...((o.ctcLabels ?? 'bytes') === 'bytes' ? { labels: { classes: 256, map: tokenBytesMap(towers.text.tokenizer) } } : {}),
                ...((o.ctcEncoderLayers ?? 0) > 0 ? { encoderLayers: o.ctcEncoderLayers } : {}),
                ...(o.ctcFeedLinks ? { feedLinks: true } : {}),
              },
            ],
          }
        : {}),
    },
    { seed: o.seed, crossGate: o.crossGate ?? 0, zeroOutput: o.zeroOutput ?? false },
  );
  try {
    return fuseModel(zipper, o);
  } catch (e) {
    zipper.dispose();
    throw e;
  }
}

/**
 * `--freeze-params P,...`: each prefix must name fusion weights of this model (a weight key starts
 * with it; keys are module paths, docs/zipper.md) and no tower's (`--freeze` holds towers).
 */
function checkFreezeParams(zipper: Zipper, prefixes: readonly string[]): string[] {
  const keys = [...zipper.params.keys()];
  for (const p of prefixes) {
    if (p.startsWith('towers.'))
      throw new UsageError(`--freeze-params ${p}: tower weights are held with --freeze ${p.split('.')[1] ?? 'NAME'}, not --freeze-params`);
    if (!keys.some((k) => k.startsWith(p))) {
      const roots = [...new Set(keys.filter((k) => !k.startsWith('towers.')).map((k) => k.split('.').slice(0, 2).join('.')))].sort();
      throw new UsageError(`--freeze-params ${p} names no weight of this model; its fusion weights start with ${roots.join(', ')}`);
    }
  }
  return [...prefixes];
}

/** A trained zipped model from its fused checkpoint; the towers are verified by sha256 (and supply frozen weights); the loaded towers are disposed. */
export async function loadFuseModel(dir: string, towers: LoadedTowers): Promise<RunModel> {
  try {
    return fuseModel(
      await loadZipper(dir, { text: path.join(towers.refs.text.dir, 'tower'), speech: path.join(towers.refs.speech.dir, 'tower') }),
    );
  } finally {
    towers.text.dispose(); // loadZipper reads its own copies
    towers.speech.dispose();
  }
}

function baselineModel(sd: SingleDecoder): RunModel {
  return {
    kind: 'baseline',
    config: sd.config,
    params: sd.params,
    layout: (ex) => sd.layout(ex),
    spec: sd.loss() as LossSpec<unknown>,
    local: sd.gradients() as GradientStrategy<unknown>,
    parallel: (workers) => singleDecoderDataParallel(sd, { workers }) as DataParallelGradients<unknown>,
    freezePrefixes: [],
    save: (dir, options) =>
      saveTower(dir, sd.tower, {
        ...(options?.dtype ? { dtype: options.dtype } : {}),
        ...(options?.createdAt ? { createdAt: options.createdAt } : {}),
        metadata: {
          baseline: {
            towers: sd.config.towers.map((t) => ({ name: t.name, vocabSize: t.config.vocabSize, bos: t.bos, eos: t.eos })),
            offsets: sd.offsets,
          },
        },
      }),
    generate: (inputs, options) => sd.generate(inputs, options),
    dispose: () => sd.dispose(),
  };
}

/** The text tower with `maxSeqLen` (a copy; rotary positions have no weights). */
function withMaxSeqLen(tower: Tower, maxSeqLen: number, vocabSize = tower.config.vocabSize, emb?: tf.Tensor): Tower {
  const tensors = new Map<string, tf.Tensor>(tower.params);
  if (emb) tensors.set('emb.weight', emb);
  return Tower.fromTensors({ ...tower.config, vocabSize, maxSeqLen }, tensors);
}

/** A fresh single decoder from the text tower (copied) and the speech tower's vocabulary; the loaded towers are disposed. */
export function createBaselineModel(towers: LoadedTowers, o: { maxSeqLen: number; seed: number }): RunModel {
  const [text] = towerEntries(towers);
  const base = withMaxSeqLen(towers.text.tower, o.maxSeqLen);
  try {
    return baselineModel(SingleDecoder.create({ ...text!, tower: base }, [speechSpec(towers)], { seed: o.seed }));
  } finally {
    base.dispose();
    towers.text.dispose();
    towers.speech.dispose();
  }
}

/** A trained single decoder from its tower checkpoint; the loaded towers give the modalities and are disposed. */
export async function loadBaselineModel(dir: string, towers: LoadedTowers): Promise<RunModel> {
  const [text] = towerEntries(towers);
  const saved = await loadTower(dir);
  const { metadata } = await readTowerCheckpointInfo(dir);
  const vText = towers.text.tower.config.vocabSize;
  const vAll = vText + towers.speech.tower.config.vocabSize;
  if (!metadata.user['baseline'] || saved.config.vocabSize !== vAll) {
    saved.dispose();
    throw new CheckpointError(
      `${dir} is not a single-decoder checkpoint of these towers (vocabulary ${saved.config.vocabSize}, expected ${vText} text + ${vAll - vText} speech)`,
    );
  }
  const emb = saved.param('emb.weight');
  const head = tf.slice(emb, [0, 0], [vText, emb.shape[1]!]);
  const base = withMaxSeqLen(saved, saved.config.maxSeqLen, vText, head);
  try {
    const sd = SingleDecoder.create({ ...text!, tower: base }, [speechSpec(towers)]);
    sd.params.get('emb.weight')!.assign(emb);
    return baselineModel(sd);
  } finally {
    tf.dispose([head]);
    base.dispose();
    saved.dispose();
    towers.text.dispose();
    towers.speech.dispose();
  }
}
