/**
 * The zipped model's configuration (docs/zipper.md): a readonly `ZipperConfig` and
 * `resolveZipperConfig`, which fills defaults, never mutates its input and throws `ConfigError`
 * naming the broken invariant.
 */
import { ConfigError, resolveTowerConfig, type TowerConfig, type TowerConfigInput } from '@zipper/core';
import { resolveLexiconSearchSettings, type LexiconSearchSettings } from './ctc-lexicon.js';
import {
  everyNthSchedule,
  intervalSchedule,
  resolveFusionSchedule,
  TOWER_NAME,
  type FusionLink,
  type FusionSchedule,
  type TowerShape,
} from './schedule.js';

/** One tower of a zipped model. */
export interface ZipperTowerSpec {
  /** `[a-z][a-z0-9_]*`, e.g. `text`, `speech`; part of weight keys and the loss stream name. */
  readonly name: string;
  readonly config: TowerConfig;
  /** Opens every segment of this tower. */
  readonly bos: number;
  /** Closes every segment of this tower; generating it ends the segment. */
  readonly eos: number;
}

/**
 * `'gated'`: h0 = e + tanh(gate) * ReLU(MLP(e)), gate 0 at init (default);
 * `'replace'`: h0 = ReLU(MLP(e)) (the paper, literally); `'none'`: h0 = e.
 */
export type InputProjectionMode = 'gated' | 'replace' | 'none';

/**
 * An auxiliary CTC head (docs/zipper.md, "CTC head"; not in the paper): the tokens of tower `to`'s
 * segments predicted from tower `from`'s positions, through the source projection of the first
 * link `to <- from` and a linear layer to `to`'s vocabulary (or the `labels` classes) plus a blank
 * (the last class). Its loss
 * trains that projection to carry `to`'s content, which the link's cross-attention then reads.
 */
export interface CtcHeadSpec {
  readonly from: string;
  readonly to: string;
  /**
   * The head's label alphabet (default: `to`'s tokens, V_to classes). With `{ classes, map }`, a
   * token id t of `to` stands for the labels `map[t]` (each in [0, classes); [] for specials),
   * e.g. the bytes of each BPE token: a character-level CTC over a subword tower, which learns
   * from far fewer examples than one over thousands of subwords.
   */
  readonly labels?: CtcLabels;
  /**
   * Bidirectional blocks between the projection and the linear layer (default 0; not in the
   * paper): pre-norm blocks of the `to` tower's shape (width, heads, MLP ratio, rotary base) whose
   * self-attention sees every position of the same source segment, earlier and later, then an
   * RMSNorm. A causal tower's state at a frame has not heard the rest of the word yet; these let
   * the head read it. Only the head uses them (the cross-attention reads the projection as before)
   * unless `feedLinks` is set.
   */
  readonly encoderLayers?: number;
  /**
   * The links `to <- from` read the head's encoder output instead of their own projection of the
   * source (default false; not in the paper; needs `encoderLayers` >= 1): the hybrid CTC/attention
   * recipe of ESPnet, where the decoder attends to the encoder that CTC shapes. The keys and values
   * then carry what the head is trained to spell. The head's link keeps its projection (it is the
   * encoder's input); the other links `to <- from` have none. Every such link must read a source
   * layer at or above the head link's, so that reading the encoder adds no dependency cycle.
   */
  readonly feedLinks?: boolean;
  /**
   * The lexicon search's settings chosen for this head (on a dev split; not in the paper): the
   * apps search with them where the caller gives none (`ctcTranscripts`), so a checkpoint decodes
   * as its model card measured it. Absent: the search's defaults (`resolveLexiconBeamOptions`).
   * A byte-label head only (the search spells bytes). Not architecture: no weight depends on it.
   */
  readonly search?: LexiconSearchSettings;
}

/** Classes of a label map read as UTF-8 bytes (`zipper fuse train --ctc-labels bytes`): what the lexicon search spells. */
export const CTC_BYTE_CLASSES = 256;

export interface CtcLabels {
  readonly classes: number;
  /** One entry per token id of the `to` tower. */
  readonly map: readonly (readonly number[])[];
}

/**
 * Rotary positions in the cross-attention of the links `to <- from` (docs/zipper.md, "Cross
 * positions"; not in the paper): the queries at reader position n are rotated as position
 * n * rate, the keys at source position m as m (positions = each tower's positions in the row,
 * from 0), so a score depends on n * rate - m: `rate` is the expected number of source positions
 * per reader position (ASR text <- speech: units per text token), and the attention can follow
 * the diagonal without knowing either length. The towers' own hidden states carry no absolute
 * position (their self-attention is rotary), so without this the cross-attention is position-blind.
 */
export interface CrossRopeSpec {
  readonly to: string;
  readonly from: string;
  readonly rate: number;
  /**
   * Source positions counted by weight (docs/zipper.md, "Weighted source positions"; absent: each
   * position counts 1): one positive weight per source token id (the source tower's vocabSize of
   * them), and a key's position m is the sum of the weights of the row's source positions before
   * it. With a text source weighted by its tokens' bytes, m follows the speech a token takes
   * better than its rank does (a long word is one token and many units). A decoding state keeps
   * each row's sum so far (ZipperState `sourceWeightSums`).
   */
  readonly sourceWeights?: readonly number[];
}

/** The schedule as links, or one of its constructors: `{ every: n }` or `{ intervals: { text: 2, speech: 1 } }`. */
export type ScheduleInput = readonly FusionLink[] | { readonly every: number } | { readonly intervals: Readonly<Record<string, number>> };

export interface ZipperConfig {
  readonly towers: readonly ZipperTowerSpec[];
  /** Resolved: validated, acyclic, links in schedule order. */
  readonly schedule: FusionSchedule;
  readonly inputProjection: InputProjectionMode;
  /** Affine layers of the input projection's MLP (D_X -> D_X each). */
  readonly inputProjectionLayers: number;
  /** Affine layers of each link's source projection g, each followed by ReLU: the paper's h = ReLU(g(m)) (its §4.1: 3 layers; 1 = g linear, §3). */
  readonly projectionLayers: number;
  /** Names of towers whose weights do not train. */
  readonly freeze: readonly string[];
  /** Auxiliary CTC heads (default none). */
  readonly ctc: readonly CtcHeadSpec[];
  /** Rotary cross positions per reader/source pair (default none: position-blind, the paper's). */
  readonly crossRope: readonly CrossRopeSpec[];
}

export interface ZipperTowerInput {
  readonly name: string;
  readonly config: TowerConfigInput | TowerConfig;
  readonly bos: number;
  readonly eos: number;
}

export interface ZipperConfigInput {
  readonly towers: readonly ZipperTowerInput[];
  readonly schedule: ScheduleInput;
  readonly inputProjection?: InputProjectionMode;
  readonly inputProjectionLayers?: number;
  readonly projectionLayers?: number;
  readonly freeze?: readonly string[];
  readonly ctc?: readonly CtcHeadSpec[];
  readonly crossRope?: readonly CrossRopeSpec[];
}

export const ZIPPER_DEFAULTS = {
  inputProjection: 'gated',
  inputProjectionLayers: 2,
  projectionLayers: 3,
} as const;

const KNOWN = new Set(['towers', 'schedule', 'inputProjection', 'inputProjectionLayers', 'projectionLayers', 'freeze', 'ctc', 'crossRope']);

/** Fills defaults and checks every invariant; the result is frozen. */
export function resolveZipperConfig(input: ZipperConfigInput | ZipperConfig): ZipperConfig {
  if (input === null || typeof input !== 'object') throw new ConfigError('zipper config must be an object with towers and schedule');
  for (const key of Object.keys(input))
    if (!KNOWN.has(key)) throw new ConfigError(`unknown zipper config field "${key}"; known fields: ${[...KNOWN].join(', ')}`);
  if (!Array.isArray(input.towers) || input.towers.length < 2)
    throw new ConfigError(
      `a zipped model needs at least 2 towers, got ${Array.isArray(input.towers) ? input.towers.length : String(input.towers)}`,
    );
  const towers = input.towers.map((t, i) => resolveTower(t, i));
  const names = towers.map((t) => t.name);
  for (const n of names) if (names.indexOf(n) !== names.lastIndexOf(n)) throw new ConfigError(`tower name "${n}" appears twice`);
  const shapes: TowerShape[] = towers.map((t) => ({ name: t.name, nLayers: t.config.nLayers, dModel: t.config.dModel }));
  const schedule = resolveSchedule(input.schedule as ScheduleInput | FusionSchedule, shapes);
  const inputProjection = input.inputProjection ?? ZIPPER_DEFAULTS.inputProjection;
  if (!['gated', 'replace', 'none'].includes(inputProjection))
    throw new ConfigError(`inputProjection must be "gated", "replace" or "none", got ${JSON.stringify(inputProjection)}`);
  const inputProjectionLayers = input.inputProjectionLayers ?? ZIPPER_DEFAULTS.inputProjectionLayers;
  if (!Number.isInteger(inputProjectionLayers) || inputProjectionLayers < 1)
    throw new ConfigError(`inputProjectionLayers must be an integer >= 1, got ${inputProjectionLayers}`);
  const projectionLayers = input.projectionLayers ?? ZIPPER_DEFAULTS.projectionLayers;
  if (!Number.isInteger(projectionLayers) || projectionLayers < 1)
    throw new ConfigError(`projectionLayers must be an integer >= 1 (1 = a linear g under the ReLU), got ${projectionLayers}`);
  const freeze = [...(input.freeze ?? [])];
  for (const f of freeze)
    if (!names.includes(f)) throw new ConfigError(`freeze names tower "${f}", which is not one of ${names.join(', ')}`);
  const ctc = resolveCtcHeads(input.ctc ?? [], towers, schedule);
  const crossRope = resolveCrossRope(input.crossRope ?? [], towers, schedule);
  return Object.freeze({
    towers,
    schedule,
    inputProjection,
    inputProjectionLayers,
    projectionLayers,
    freeze: Object.freeze([...new Set(freeze)]),
    ctc,
    crossRope,
  });
}

/** The rotary cross positions of links `to <- from`, or undefined (position-blind). */
export function crossRopeOf(c: ZipperConfig, to: string, from: string): CrossRopeSpec | undefined {
  return c.crossRope.find((r) => r.to === to && r.from === from);
}

function resolveCrossRope(
  input: readonly CrossRopeSpec[],
  towers: readonly ZipperTowerSpec[],
  schedule: FusionSchedule,
): readonly CrossRopeSpec[] {
  const names = towers.map((t) => t.name);
  // an entry is a per-link-pair option like any other, with an optional sourceWeights checked here
  const pairs = resolveLinkPairs('crossRope', input, 'rate', 'source positions per reader position', names, schedule, undefined, [
    'sourceWeights',
  ]);
  return Object.freeze(
    pairs.map((p, i) => {
      const weights = ((input as readonly unknown[])[i] as { sourceWeights?: unknown }).sourceWeights;
      if (weights === undefined) return p;
      const v = (towers.find((t) => t.name === p.from) as ZipperTowerSpec).config.vocabSize;
      if (!Array.isArray(weights) || weights.length !== v)
        throw new ConfigError(
          `crossRope[${i}].sourceWeights must be a list of ${v} weights (one per token id of tower "${p.from}"), got ${Array.isArray(weights) ? `${weights.length} entries` : JSON.stringify(weights)}`,
        );
      const bad = weights.findIndex((w) => typeof w !== 'number' || !(w > 0) || !Number.isFinite(w));
      if (bad >= 0) throw new ConfigError(`crossRope[${i}].sourceWeights[${bad}] must be a positive number, got ${String(weights[bad])}`);
      return Object.freeze({ ...p, sourceWeights: Object.freeze([...(weights as number[])]) });
    }),
  );
}

/**
 * A per-link-pair option (config.crossRope, a decode's `crossWindow`): entries `{ to, from, [field] }`
 * checked against the towers and the schedule (no other key but the `optional` ones, known towers,
 * a link `to <- from`, the field a positive finite number, no pair twice), returned frozen as `{ to,
 * from, [field] }` (the caller checks and keeps its optional keys). `unknownTower` makes the error
 * for a tower the model lacks (default a ConfigError). ConfigError otherwise.
 */
export function resolveLinkPairs<F extends string>(
  what: string,
  input: unknown,
  field: F,
  meaning: string,
  towers: readonly string[],
  schedule: FusionSchedule,
  unknownTower: (message: string) => Error = (m) => new ConfigError(m),
  optional: readonly string[] = [],
): readonly Readonly<{ to: string; from: string } & Record<F, number>>[] {
  const shape = `{ to, from, ${[field, ...optional.map((k) => `[${k}]`)].join(', ')} }`;
  if (!Array.isArray(input)) throw new ConfigError(`${what} must be a list of ${shape}, got ${JSON.stringify(input)}`);
  const out = input.map((r: unknown, i) => {
    if (
      r === null ||
      typeof r !== 'object' ||
      Object.keys(r).some((k) => k !== 'from' && k !== 'to' && k !== field && !optional.includes(k))
    )
      throw new ConfigError(`${what}[${i}] must be ${shape}, got ${JSON.stringify(r)}`);
    const { to, from, [field]: value } = r as Record<string, unknown>;
    for (const n of [from, to])
      if (!towers.includes(n as string))
        throw unknownTower(`${what}[${i}] names tower "${String(n)}", which is not one of ${towers.join(', ')}`);
    if (!schedule.links.some((l) => l.to === to && l.from === from))
      throw new ConfigError(`${what}[${i}]: no link ${String(to)} <- ${String(from)} in the schedule`);
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))
      throw new ConfigError(`${what}[${i}].${field} must be a positive number (${meaning}), got ${String(value)}`);
    return Object.freeze({ to, from, [field]: value }) as Readonly<{ to: string; from: string } & Record<F, number>>;
  });
  const keys = out.map((r) => `${r.to}<-${r.from}`);
  for (const k of keys) if (keys.indexOf(k) !== keys.lastIndexOf(k)) throw new ConfigError(`${what}: ${k} appears twice`);
  return Object.freeze(out);
}

/** The stream name of a CTC head's loss (`<to>_ctc`) and its module name (`<to>_from_<from>`). */
export const ctcStreamName = (h: CtcHeadSpec): string => `${h.to}_ctc`;
export const ctcHeadName = (h: CtcHeadSpec): string => `${h.to}_from_${h.from}`;

/** The link whose source projection a CTC head reads: the first `to <- from` in schedule order. */
export function ctcHeadLink(c: ZipperConfig, h: CtcHeadSpec): FusionLink {
  return c.schedule.links.find((l) => l.to === h.to && l.from === h.from) as FusionLink;
}

/** The CTC head whose encoder a link reads (`feedLinks`), if any. */
export function feedingHead(c: ZipperConfig, link: FusionLink): CtcHeadSpec | undefined {
  return c.ctc.find((h) => h.feedLinks === true && h.to === link.to && h.from === link.from);
}

/** The number of classes of a head's softmax without the blank (the blank is class `ctcClasses`). */
export function ctcClasses(c: ZipperConfig, h: CtcHeadSpec): number {
  return h.labels ? h.labels.classes : towerSpec(c, h.to).config.vocabSize;
}

function resolveCtcHeads(
  input: readonly CtcHeadSpec[],
  towers: readonly ZipperTowerSpec[],
  schedule: FusionSchedule,
): readonly CtcHeadSpec[] {
  const names = towers.map((t) => t.name);
  if (!Array.isArray(input)) throw new ConfigError(`ctc must be a list of { from, to } heads, got ${JSON.stringify(input)}`);
  const heads = input.map((h, i) => {
    if (
      h === null ||
      typeof h !== 'object' ||
      Object.keys(h).some((k) => !['from', 'to', 'labels', 'encoderLayers', 'feedLinks', 'search'].includes(k))
    )
      throw new ConfigError(`ctc[${i}] must be { from, to, labels?, encoderLayers?, feedLinks?, search? }, got ${JSON.stringify(h)}`);
    for (const n of [h.from, h.to])
      if (!names.includes(n)) throw new ConfigError(`ctc[${i}] names tower "${String(n)}", which is not one of ${names.join(', ')}`);
    if (!schedule.links.some((l) => l.to === h.to && l.from === h.from))
      throw new ConfigError(`ctc[${i}]: no link ${h.to} <- ${h.from} in the schedule; the head reads that link's source projection`);
    if (names.includes(ctcStreamName(h)))
      throw new ConfigError(`ctc[${i}]: its loss stream "${ctcStreamName(h)}" would share a tower's name; rename the tower`);
    const encoderLayers = h.encoderLayers ?? 0;
    if (!Number.isInteger(encoderLayers) || encoderLayers < 0)
      throw new ConfigError(`ctc[${i}].encoderLayers must be an integer >= 0, got ${JSON.stringify(h.encoderLayers)}`);
    const feedLinks = h.feedLinks ?? false;
    if (typeof feedLinks !== 'boolean') throw new ConfigError(`ctc[${i}].feedLinks must be a boolean, got ${JSON.stringify(h.feedLinks)}`);
    if (feedLinks) {
      if (encoderLayers < 1) throw new ConfigError(`ctc[${i}].feedLinks needs encoderLayers >= 1 (the links read the head's encoder)`);
      const fed = schedule.links.filter((l) => l.to === h.to && l.from === h.from);
      const first = fed[0] as FusionLink;
      const low = fed.find((l) => l.fromLayer < first.fromLayer);
      if (low)
        throw new ConfigError(
          `ctc[${i}].feedLinks: link ${h.to}@${low.toLayer} <- ${h.from}@${low.fromLayer} reads a lower source layer than the head's link (${h.from}@${first.fromLayer}); the encoder reads that one`,
        );
    }
    if (h.search !== undefined && h.labels?.classes !== CTC_BYTE_CLASSES)
      throw new ConfigError(
        `ctc[${i}].search: the lexicon search spells UTF-8 bytes, but this head predicts ${h.labels ? `${h.labels.classes} labels` : 'tokens'}`,
      );
    const search = h.search === undefined ? {} : resolveLexiconSearchSettings(h.search, `ctc[${i}].search`);
    // 0, false and no search settings are not stored: zipper.json stays as before
    const encoder = {
      ...(encoderLayers > 0 ? { encoderLayers } : {}),
      ...(feedLinks ? { feedLinks } : {}),
      ...(Object.keys(search).length > 0 ? { search } : {}),
    };
    if (h.labels === undefined) return Object.freeze({ from: h.from, to: h.to, ...encoder });
    const { classes, map } = h.labels;
    const v = (towers.find((t) => t.name === h.to) as ZipperTowerSpec).config.vocabSize;
    if (!Number.isInteger(classes) || classes < 1)
      throw new ConfigError(`ctc[${i}].labels.classes must be an integer >= 1, got ${classes}`);
    if (!Array.isArray(map) || map.length !== v)
      throw new ConfigError(
        `ctc[${i}].labels.map must hold one entry per token of tower "${h.to}" (${v}), got ${Array.isArray(map) ? map.length : typeof map}`,
      );
    map.forEach((m, t) => {
      if (!Array.isArray(m) || m.some((l) => !Number.isInteger(l) || l < 0 || l >= classes))
        throw new ConfigError(`ctc[${i}].labels.map[${t}] must be a list of labels in [0, ${classes}), got ${JSON.stringify(m)}`);
    });
    return Object.freeze({
      from: h.from,
      to: h.to,
      labels: Object.freeze({ classes, map: Object.freeze(map.map((m) => Object.freeze([...m]))) }),
      ...encoder,
    });
  });
  const keys = heads.map(ctcStreamName);
  for (const k of keys)
    if (keys.indexOf(k) !== keys.lastIndexOf(k)) throw new ConfigError(`ctc: two heads predict tower "${k.slice(0, -4)}"`);
  return Object.freeze(heads);
}

function resolveTower(t: ZipperTowerInput, i: number): ZipperTowerSpec {
  if (t === null || typeof t !== 'object') throw new ConfigError(`towers[${i}] must be { name, config, bos, eos }`);
  for (const key of Object.keys(t))
    if (!['name', 'config', 'bos', 'eos'].includes(key))
      throw new ConfigError(`towers[${i}]: unknown field "${key}"; known fields: name, config, bos, eos`);
  if (typeof t.name !== 'string' || !TOWER_NAME.test(t.name))
    throw new ConfigError(`towers[${i}]: name ${JSON.stringify(t.name)} must match [a-z][a-z0-9_]* (it becomes part of weight keys)`);
  let config: TowerConfig;
  try {
    config = resolveTowerConfig(t.config);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`tower "${t.name}": ${e.message}`);
    throw e;
  }
  const v = config.vocabSize;
  for (const [field, id] of [
    ['bos', t.bos],
    ['eos', t.eos],
  ] as const) {
    if (!Number.isInteger(id) || id < 0 || id >= v)
      throw new ConfigError(`tower "${t.name}": ${field} ${String(id)} must be a token id in [0, ${v}) (its vocabSize)`);
  }
  if (t.bos === t.eos) throw new ConfigError(`tower "${t.name}": bos and eos must differ, both are ${t.bos}`);
  return Object.freeze({ name: t.name, config, bos: t.bos, eos: t.eos });
}

function resolveSchedule(s: ScheduleInput | FusionSchedule, towers: readonly TowerShape[]): FusionSchedule {
  if (s === undefined || s === null) throw new ConfigError('schedule is required: links, { every: n } or { intervals: { <tower>: i } }');
  if (Array.isArray(s)) return resolveFusionSchedule({ towers, links: s as readonly FusionLink[] });
  const o = s as Record<string, unknown>;
  if ('links' in o) {
    const given = o['towers'] as readonly TowerShape[] | undefined;
    if (
      given &&
      JSON.stringify(given.map((t) => [t.name, t.nLayers, t.dModel])) !== JSON.stringify(towers.map((t) => [t.name, t.nLayers, t.dModel]))
    ) {
      throw new ConfigError(
        "the schedule's towers differ from the zipper's towers (names, nLayers, dModel); build the schedule from the same towers",
      );
    }
    return resolveFusionSchedule({ towers, links: o['links'] as readonly FusionLink[] });
  }
  if ('every' in o) return everyNthSchedule(towers, o['every'] as number);
  if ('intervals' in o) return intervalSchedule(towers, o['intervals'] as Record<string, number>);
  throw new ConfigError(`schedule must be links, { every: n } or { intervals: { <tower>: i } }, got ${JSON.stringify(s)}`);
}

/** The spec of one tower; throws ConfigError naming the known towers. */
export function towerSpec(c: ZipperConfig, name: string): ZipperTowerSpec {
  const t = c.towers.find((x) => x.name === name);
  if (!t) throw new ConfigError(`unknown tower "${name}"; this model's towers are ${c.towers.map((x) => x.name).join(', ')}`);
  return t;
}
