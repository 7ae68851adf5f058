/**
 * The zipped model (docs/zipper.md): N decoder towers, each with an input projection, and gated
 * cross-attention layers between their blocks as the schedule says.
 *
 *   const z = Zipper.create([{ name: 'text', tower: t, bos, eos }, { name: 'speech', tower: s, bos, eos }],
 *                           { schedule: { every: 2 } }, { seed: 1 });
 *   const { logits } = z.forward(layoutBatch(z.config, examples));   // logits.text [B, T_text, V_text]
 *
 * `params` holds every weight under its module path: `towers.<X>.<tower key>` (the towers' own
 * tf.Variables, not copies), `inproj.<X>.*` and `cross.<X>_from_<Y>.<l>.*`.
 *
 * Evaluation is lazy and memoized: X.raw(l) (h0 for l = 0, else block l of X on X.post(l - 1))
 * and X.post(l) (X.raw(l) followed by the links into (X, l) in schedule order, each reading
 * Y.raw(m)); the logits of X are its head on X.post(L_X). The schedule is acyclic (checked at
 * config time), so any order of demand gives the same values. Without a state to keep, only
 * what the requested logits need is computed (a source tower's blocks above the highest layer
 * any reader reads are skipped).
 *
 * Without a state, a link runs only on the batch rows in which some reader position sees a
 * source position (gathered, then put back): the other rows keep x exactly, as v = 0 gives (in
 * an ASR + TTS batch, half the rows of each direction; `zipper bench fuse train`).
 *
 * Incremental use (decoding): `run(inputs, { state, keepState: true })` takes the new positions
 * of any towers, reuses each tower's self-attention KV cache and each link's cross-attention
 * keys/values (computed once per source position), and returns a new state (fresh tensors; the
 * caller disposes the old one with `disposeZipperState`).
 *
 * Legend: B batch, T new positions of a tower, S positions of a source tower so far, D width,
 * V vocabulary, L layers, H heads, K head width.
 */
import * as tf from '@tensorflow/tfjs-core';
import { linear } from '@zipper/core/ops';
import { ConfigError, emptyCache, keySetProblems, prefixKeys, ShapeError, shapesOf, type LayerKV, type Tower } from '@zipper/core';
import {
  crossRopeOf,
  ctcHeadLink,
  ctcHeadName,
  feedingHead,
  resolveZipperConfig,
  towerSpec,
  type CtcHeadSpec,
  type ZipperConfig,
  type ZipperConfigInput,
} from './config.js';
import {
  crossKeysValues,
  gatedCrossAttention,
  gatedCrossAttentionWithPrior,
  type CrossAttentionWeights,
  type CrossOptions,
} from './cross-attention.js';
import { UnknownTowerError } from './errors.js';
import { ctcEncoder } from './ctc-encoder.js';
import { inputProjection } from './input-projection.js';
import { alignPriorHost, crossMask, crossMaskHost, prepareCrossMask, type CrossMask } from './masks.js';
import { sourcePositionWeights, weightedPositions } from './cross-positions.js';
import { pickRows } from './rows.js';
import { crossWindowOf, resolveCrossWindows, type CrossWindow, type PlacedCrossWindow } from './cross-window.js';
import { fusionParamSpecs, initFusionParam, linkProjectionLayers, type FusionInitOptions } from './params.js';
import { affineLayers, reluMlp, type AffineLayer } from './projection.js';
import { linkKey, type FusionLink } from './schedule.js';
import type { FusedBatch } from './segments.js';
import { emptyZipperState, type StreamInput, type TowerState, type ZipperState } from './state.js';

/** Which tower checkpoint a tower was loaded from (recorded in fused checkpoints). */
export interface TowerSource {
  /** The package's name, or the checkpoint directory's basename. */
  readonly name: string;
  /** The package's version, or null. */
  readonly version: string | null;
  /** sha256 of the tower checkpoint's model.safetensors (its metadata.json `weights.sha256`). */
  readonly sha256: string;
}

/** A tower joining a zipped model. */
export interface TowerEntry {
  readonly name: string;
  readonly tower: Tower;
  readonly bos: number;
  readonly eos: number;
  /** Where the tower came from (see `loadTowerEntry`); needed to save a fused checkpoint of a frozen tower. */
  readonly source?: TowerSource;
}

/** The zipper config without its towers (they come from the `TowerEntry`s). */
export type ZipperOptions = Omit<ZipperConfigInput, 'towers'>;

export interface RunOptions {
  /** Earlier positions (default: none). */
  readonly state?: ZipperState;
  /** Return the state after these positions (default false). */
  readonly keepState?: boolean;
  /** Towers whose logits to compute (default: every tower with new positions). */
  readonly logits?: readonly string[];
  /** Logits of the last new position only ([B, 1, V]). */
  readonly lastOnly?: boolean;
  /**
   * With `keepState`: the towers that will get new positions later (default: every tower). Link
   * caches into other towers are neither computed nor kept (decoding knows its remaining output
   * towers: ASR never runs the speech tower again, so text positions need no speech-side keys).
   */
  readonly futureReaders?: readonly string[];
  /** Also the CTC heads' logits (`RunResult.ctc`) over the new positions of their source towers (default false). */
  readonly ctc?: boolean;
  /**
   * Also the alignment-prior penalty of every applied link's attention (`RunResult.align`; masks.ts
   * `alignPriorHost` with this width, e.g. 0.2). Training only: not with `state` or `keepState`.
   */
  readonly align?: { readonly width: number };
  /**
   * Cross windows (cross-window.ts; beyond the paper, for decoding): the links of each pair read only
   * the source positions within `width` of their cross-rope diagonal. Default none.
   */
  readonly window?: readonly CrossWindow[];
}

export interface RunResult {
  /**
   * Per CTC head (`<to>_from_<from>`), when `ctc` was asked for without `keepState`: logits
   * [B, S_from, C + 1] over the source's new positions (C = ctcClasses: V_to, or the head's label
   * classes), the blank last.
   */
  readonly ctc?: Readonly<Record<string, tf.Tensor3D>>;
  /** Per tower asked for: [B, T, V] ([B, 1, V] with `lastOnly`). */
  readonly logits: Readonly<Record<string, tf.Tensor3D>>;
  /**
   * With `align`: the penalty summed over links, heads and reader positions that see a source
   * position (divide by `alignTargets` for the mean); 0 when no link applies.
   */
  readonly align?: tf.Scalar;
  readonly state?: ZipperState;
}

/** The rows of a batch in which some reader position sees a source position, and the cross mask of those rows. */
interface RowSubset {
  readonly rows: number[];
  readonly mask: CrossMask;
}

export class Zipper {
  readonly config: ZipperConfig;
  readonly towers: ReadonlyMap<string, Tower>;
  /** Every weight, keys = module paths = checkpoint keys: towers first (tower order), then inproj, then cross (schedule order). */
  readonly params: ReadonlyMap<string, tf.Variable>;
  /** Per tower: the tower checkpoint it came from, if known. */
  readonly sources: ReadonlyMap<string, TowerSource>;
  private disposed = false;

  private constructor(config: ZipperConfig, entries: readonly TowerEntry[], fusion: ReadonlyMap<string, tf.Variable>) {
    this.config = config;
    const towers = new Map(entries.map((e) => [e.name, e.tower]));
    this.towers = towers;
    this.sources = new Map(entries.filter((e) => e.source).map((e) => [e.name, e.source as TowerSource]));
    const params = new Map<string, tf.Variable>();
    for (const t of config.towers)
      for (const [k, v] of prefixKeys(`towers.${t.name}`, (towers.get(t.name) as Tower).params)) params.set(k, v);
    const specs = fusionParamSpecs(config);
    const problems = keySetProblems(new Map(specs.map((s) => [s.key, s.shape])), shapesOf(fusion));
    if (problems.length > 0) throw new ShapeError(`fusion weights do not match the config: ${problems.join('; ')}`);
    for (const spec of specs) params.set(spec.key, fusion.get(spec.key) as tf.Variable);
    this.params = params;
  }

  /**
   * A zipped model over the given towers (taken, not copied: the zipper's params are their
   * variables, and `dispose()` disposes them), with freshly initialized fusion weights; the same
   * config and seed give identical weights. `init.crossGate`, `init.zeroOutput`: how the
   * cross-attention layers start (default: gates 0, so the model starts as the lone towers; see
   * FusionInitOptions).
   */
  static create(towers: readonly TowerEntry[], options: ZipperOptions, init: { seed?: number } & FusionInitOptions = {}): Zipper {
    const config = resolveZipperConfig({
      ...options,
      towers: towers.map((t) => ({ name: t.name, config: t.tower.config, bos: t.bos, eos: t.eos })),
    });
    const crossGate = init.crossGate ?? 0;
    if (!Number.isFinite(crossGate)) throw new ConfigError(`crossGate must be a finite number, got ${crossGate}`);
    const fusion = new Map(
      fusionParamSpecs(config).map((s) => [s.key, initFusionParam(s, init.seed ?? 0, { crossGate, zeroOutput: init.zeroOutput ?? false })]),
    );
    return new Zipper(config, towers, fusion);
  }

  /** A zipped model from towers and existing fusion weights (taken, not copied); checks the key set and shapes. */
  static fromWeights(towers: readonly TowerEntry[], config: ZipperConfig, fusion: ReadonlyMap<string, tf.Variable>): Zipper {
    const c = resolveZipperConfig(config);
    for (const t of c.towers) {
      const given = towers.find((e) => e.name === t.name);
      if (!given) throw new ConfigError(`no tower given for "${t.name}"`);
      if (JSON.stringify(given.tower.config) !== JSON.stringify(t.config))
        throw new ConfigError(`tower "${t.name}": its config differs from the zipper config's`);
    }
    return new Zipper(c, towers, fusion);
  }

  /**
   * A tower joins (beyond the paper): the returned model holds every existing weight (the same
   * variables: the A<->B fusion weights stay exactly as they are) plus the new tower's input
   * projection and the new links, which must each involve the new tower. This model is consumed
   * (do not use or dispose it afterwards; the new one owns everything). `newKeys` lists what is new.
   */
  addTower(entry: TowerEntry, links: readonly FusionLink[], init: { seed?: number } = {}): { model: Zipper; newKeys: readonly string[] } {
    this.checkAlive();
    for (const l of links) {
      if (l.to !== entry.name && l.from !== entry.name)
        throw new ConfigError(
          `addTower: link ${linkKey(l)} does not involve the new tower "${entry.name}"; existing links stay as they are`,
        );
    }
    const towers = [
      ...this.config.towers.map((t) => ({ name: t.name, config: t.config, bos: t.bos, eos: t.eos })),
      { name: entry.name, config: entry.tower.config, bos: entry.bos, eos: entry.eos },
    ];
    const config = resolveZipperConfig({
      towers,
      schedule: [...this.config.schedule.links, ...links],
      inputProjection: this.config.inputProjection,
      inputProjectionLayers: this.config.inputProjectionLayers,
      projectionLayers: this.config.projectionLayers,
      freeze: this.config.freeze,
      ctc: this.config.ctc,
      crossRope: this.config.crossRope,
    });
    const fusion = new Map<string, tf.Variable>();
    const newKeys: string[] = [];
    for (const spec of fusionParamSpecs(config)) {
      const old = this.params.get(spec.key);
      if (old) fusion.set(spec.key, old);
      else {
        fusion.set(spec.key, initFusionParam(spec, init.seed ?? 0));
        newKeys.push(spec.key);
      }
    }
    const old = this.config.towers.map((t) => ({
      name: t.name,
      tower: this.towers.get(t.name) as Tower,
      bos: t.bos,
      eos: t.eos,
      ...(this.sources.get(t.name) ? { source: this.sources.get(t.name) } : {}),
    }));
    const model = new Zipper(config, [...old, entry], fusion);
    newKeys.unshift(...[...entry.tower.params.keys()].map((k) => `towers.${entry.name}.${k}`));
    this.disposed = true; // consumed: the new model owns the variables
    return { model, newKeys };
  }

  /** Keys that train by default: all but the frozen towers' (`config.freeze`). */
  trainableKeys(): string[] {
    const frozen = this.config.freeze.map((n) => `towers.${n}.`);
    return [...this.params.keys()].filter((k) => !frozen.some((p) => k.startsWith(p)));
  }

  /** Per-tower logits of a laid-out batch (see segments.ts); differentiable. */
  forward(batch: FusedBatch, options: { logits?: readonly string[] } = {}): Readonly<Record<string, tf.Tensor3D>> {
    return this.run(batch.streams, batch.batchSize, options.logits ? { logits: options.logits } : {}).logits;
  }

  /** The new positions of any towers on top of `state` (see the file header). */
  run(inputs: Readonly<Record<string, StreamInput>>, batchSize: number, options: RunOptions = {}): RunResult {
    this.checkAlive();
    const c = this.config;
    const B = batchSize;
    const state = options.state ?? emptyZipperState(B);
    const keep = options.keepState ?? false;
    if (state.batchSize !== B) throw new ShapeError(`state batch ${state.batchSize} differs from the input batch ${B}`);
    const align = options.align;
    if (align && (keep || options.state))
      throw new ConfigError('run: align (the alignment-prior penalty) is for training; it cannot be combined with state or keepState');
    if (align && !(align.width > 0 && Number.isFinite(align.width)))
      throw new ConfigError(`run: align.width must be a positive number, got ${align.width}`);
    const windows = resolveCrossWindows(c, options.window);
    // the window of a link's pair, placed at the reader's first new position (no state: rank 0)
    const placed = (link: FusionLink, start: number): PlacedCrossWindow | undefined => {
      const w = crossWindowOf(windows, link.to, link.from);
      return w && { start, rate: w.rate, width: w.width };
    };
    for (const [name, s] of Object.entries(inputs)) {
      if (!c.towers.some((t) => t.name === name))
        throw new UnknownTowerError(`inputs name tower "${name}"; this model's towers are ${c.towers.map((t) => t.name).join(', ')}`);
      if (s.ids.length !== B * s.length || s.global.length !== B * s.length)
        throw new ShapeError(
          `tower "${name}": ids and global must hold B * T = ${B} * ${s.length} entries, got ${s.ids.length} and ${s.global.length}`,
        );
    }
    const active = c.towers.filter((t) => (inputs[t.name]?.length ?? 0) > 0).map((t) => t.name);
    const wanted = options.logits ?? active;
    for (const name of wanted)
      if (!active.includes(name))
        throw new UnknownTowerError(
          `logits asked for tower "${name}", which has no new positions (active: ${active.join(', ') || 'none'})`,
        );
    const pastLength = (name: string) => state.towers[name]?.cache.length ?? 0;
    // Global indices of every position so far, per tower: [B, S_past + T] row-major.
    const allGlobal = new Map<string, { global: Int32Array; length: number }>();
    for (const t of c.towers) {
      const past = state.towers[t.name];
      const s0 = pastLength(t.name);
      const add = inputs[t.name];
      const t1 = add?.length ?? 0;
      const g = new Int32Array(B * (s0 + t1));
      for (let b = 0; b < B; b++) {
        if (past) g.set(past.global.subarray(b * s0, (b + 1) * s0), b * (s0 + t1));
        if (add) g.set(add.global.subarray(b * t1, (b + 1) * t1), b * (s0 + t1) + s0);
      }
      allGlobal.set(t.name, { global: g, length: s0 + t1 });
    }

    // Weighted cross-rope pairs (cross-positions.ts), once per run: over the source's new positions,
    // their weights and rotary positions after the state's sums of the earlier ones; and each row's
    // sums after this run (carried over when the source has no new position), for the next state.
    const weighted = new Map<string, { weights: Float64Array; positions: Float32Array }>();
    const weightSums: Record<string, Float64Array> = {};
    for (const r of c.crossRope) {
      if (!r.sourceWeights) continue;
      const key = `${r.to}<-${r.from}`;
      const before = state.sourceWeightSums?.[key];
      if (!before && pastLength(r.from) > 0)
        throw new ConfigError(
          `the links ${key} count their source positions by weight (crossRope sourceWeights), but the decoding state holds ${pastLength(r.from)} positions of tower "${r.from}" without their sum (sourceWeightSums)`,
        );
      const src = inputs[r.from];
      if (src && src.length > 0) {
        const weights = sourcePositionWeights(r.sourceWeights, src.ids, src.global, B, src.length);
        const { positions, sums } = weightedPositions(weights, B, src.length, before);
        weighted.set(key, { weights, positions });
        weightSums[key] = sums;
      } else if (before) weightSums[key] = before;
    }
    const getWeighted = (link: FusionLink) => weighted.get(`${link.to}<-${link.from}`);

    const out = tf.tidy(() => {
      const raw = new Map<string, tf.Tensor3D>();
      const post = new Map<string, tf.Tensor3D>();
      const layerCaches = new Map<string, LayerKV[]>();
      const linkKV = new Map<string, LayerKV | null>();
      const masks = new Map<string, CrossMask | null>();
      const prepared: CrossMask[] = []; // disposed below (prepared masks are kept past tidy scopes)
      const penalties: tf.Scalar[] = [];
      const priors = new Map<string, tf.Tensor3D>(); // per reader/source pair and row subset: every link of the pair reads it
      try {
        const getRaw = (x: string, l: number): tf.Tensor3D => {
          const key = `${x}.${l}`;
          const hit = raw.get(key);
          if (hit) return hit;
          const tower = this.towers.get(x) as Tower;
          let y: tf.Tensor3D;
          if (l === 0) {
            const s = inputs[x] as StreamInput;
            const ids = tf.tensor2d(s.ids, [B, s.length], 'int32');
            y = inputProjection(c.inputProjection, this.inproj(x), tower.embed(ids));
          } else {
            const layer = state.towers[x]?.cache.layers[l - 1];
            const r = tower.block(l - 1, getPost(x, l - 1), {
              start: pastLength(x),
              ...(layer ? { cache: layer } : {}),
              ...(keep ? { useCache: true } : {}),
            });
            if (keep) {
              const list = layerCaches.get(x) ?? [];
              list[l - 1] = r.cache as LayerKV;
              layerCaches.set(x, list);
            }
            y = r.y;
          }
          raw.set(key, y);
          return y;
        };

        const getPost = (x: string, l: number): tf.Tensor3D => {
          const key = `${x}.${l}`;
          const hit = post.get(key);
          if (hit) return hit;
          let h = getRaw(x, l);
          for (const link of c.schedule.links) {
            if (link.to !== x || link.toLayer !== l) continue;
            const sub = getSubset(link);
            if (sub) {
              h = this.applyLinkRows(
                link,
                h,
                getSource(link),
                sub,
                getWeighted(link)?.positions,
                align ? getPrior(link, sub.rows) : undefined,
                penalties,
              );
              continue;
            }
            const mask = getMask(link); // checked first: a link whose reader sees nothing needs no source keys
            if (mask) h = this.applyLink(link, h, getKV(link), mask, pastLength(x), align ? getPrior(link) : undefined, penalties);
          }
          post.set(key, h);
          return h;
        };

        // A CTC head's input: its link's projection of the source states, then its encoder if it has
        // one, over the source tower's new positions [B, S, D_to]; the head and any fed link read it.
        const encoded = new Map<string, tf.Tensor3D>();
        const getEncoded = (head: CtcHeadSpec): tf.Tensor3D => {
          const name = ctcHeadName(head);
          const hit = encoded.get(name);
          if (hit) return hit;
          const link = ctcHeadLink(c, head);
          let s = reluMlp(getRaw(head.from, link.fromLayer), this.linkProjection(link)); // [B, S, D_to]
          if (head.encoderLayers) {
            if (pastLength(head.from) > 0)
              throw new ConfigError(
                `CTC head ${name} has a bidirectional encoder, which reads a whole source segment; run it without a decoding state` +
                  (head.feedLinks ? ' (its links read the encoder: give the whole source segment in one run)' : ''),
              );
            const to = towerSpec(c, head.to).config;
            const g = (inputs[head.from] as StreamInput).global;
            s = ctcEncoder((k) => this.param(k) as tf.Tensor, `ctc.${name}`, s, g, head.encoderLayers, to);
          }
          encoded.set(name, s);
          return s;
        };
        // What a link reads over the source tower's new positions: the source block's output, or a fed link's head encoder.
        const getSource = (link: FusionLink): tf.Tensor3D => {
          const head = feedingHead(c, link);
          return head ? getEncoded(head) : getRaw(link.from, link.fromLayer);
        };

        // The link's keys/values over every source position so far (cached + new), or null if none.
        const getKV = (link: FusionLink): LayerKV | null => {
          const key = linkKey(link);
          const hit = linkKV.get(key);
          if (hit !== undefined) return hit;
          const cached = state.links[key];
          let kv: LayerKV | null = cached ?? null;
          if (active.includes(link.from)) {
            const start = pastLength(link.from);
            const fresh = crossKeysValues(
              this.crossWeights(link),
              getSource(link),
              this.crossOptions(link),
              start,
              getWeighted(link)?.positions,
            );
            kv = cached
              ? { k: tf.concat([cached.k, fresh.k], 2) as tf.Tensor4D, v: tf.concat([cached.v, fresh.v], 2) as tf.Tensor4D }
              : fresh;
          }
          linkKV.set(key, kv);
          return kv;
        };

        // Without a state (training, uncached forward): when only some rows of the batch see any
        // source position (ASR rows [speech][text]: no speech position sees text), the link runs on
        // those rows only; the others keep x exactly, as the gated residuals with v = 0 would give.
        const subsets = new Map<string, RowSubset | null>();
        const getSubset = (link: FusionLink): RowSubset | null => {
          const key = `${link.to}<-${link.from}`;
          const hit = subsets.get(key);
          if (hit !== undefined) return hit;
          let out: RowSubset | null = null;
          const reader = inputs[link.to] as StreamInput;
          const source = allGlobal.get(link.from) as { global: Int32Array; length: number };
          const [t, s] = [reader.length, source.length];
          if (!keep && !options.state && B > 1 && s > 0) {
            const seen = crossMaskHost(reader.global, source.global, B, t, s, placed(link, 0)).visible;
            const rows = Array.from({ length: B }, (_, b) => b).filter((b) => seen.subarray(b * t, (b + 1) * t).some((v) => v !== 0));
            if (rows.length > 0 && rows.length < B) {
              const m = prepareCrossMask(
                crossMask(
                  pickRows(reader.global, rows, t),
                  pickRows(source.global, rows, s),
                  rows.length,
                  t,
                  s,
                  placed(link, 0),
                ) as CrossMask,
                towerSpec(c, link.to).config.nHeads,
              );
              prepared.push(m);
              out = { rows, mask: m };
            }
          }
          subsets.set(key, out);
          return out;
        };

        // The alignment prior [rows, T, S] of the link's reader/source pair (all rows, or `rows`).
        const getPrior = (link: FusionLink, rows?: readonly number[]): tf.Tensor3D => {
          const key = `${link.to}<-${link.from}|${rows ? rows.join(',') : 'all'}`;
          const hit = priors.get(key);
          if (hit) return hit;
          const reader = inputs[link.to] as StreamInput;
          const source = allGlobal.get(link.from) as { global: Int32Array; length: number };
          const [t, s] = [reader.length, source.length];
          const all = alignPriorHost(reader.global, source.global, B, t, s, (align as { width: number }).width, getWeighted(link)?.weights);
          let prior: tf.Tensor3D;
          if (!rows) prior = tf.tensor3d(all, [B, t, s]);
          else prior = tf.tensor3d(pickRows(all, rows, t * s), [rows.length, t, s]);
          priors.set(key, prior);
          return prior;
        };

        const getMask = (link: FusionLink): CrossMask | null => {
          const key = `${link.to}<-${link.from}`;
          const hit = masks.get(key);
          if (hit !== undefined) return hit;
          const reader = inputs[link.to] as StreamInput;
          const source = allGlobal.get(link.from) as { global: Int32Array; length: number };
          const m =
            source.length === 0
              ? undefined
              : crossMask(reader.global, source.global, B, reader.length, source.length, placed(link, pastLength(link.to)));
          const p = m ? prepareCrossMask(m, towerSpec(c, link.to).config.nHeads) : null;
          if (p) prepared.push(p);
          masks.set(key, p);
          return p;
        };

        const logits: Record<string, tf.Tensor3D> = {};
        for (const x of wanted) {
          const spec = towerSpec(c, x);
          let h = getPost(x, spec.config.nLayers);
          const [b, t, d] = h.shape;
          if (options.lastOnly && t > 1) h = tf.slice(h, [0, t - 1, 0], [b, 1, d]) as tf.Tensor3D;
          logits[x] = (this.towers.get(x) as Tower).head(h);
        }
        const ctc: Record<string, tf.Tensor3D> = {};
        for (const head of options.ctc ? c.ctc : []) {
          if (!active.includes(head.from)) continue;
          const p = `ctc.${ctcHeadName(head)}`;
          ctc[ctcHeadName(head)] = linear(
            getEncoded(head),
            this.param(`${p}.weight`) as tf.Tensor as tf.Tensor2D,
            this.param(`${p}.bias`) as tf.Tensor as tf.Tensor1D,
          );
        }
        if (!keep) {
          const penalty = align ? (penalties.length > 0 ? tf.addN(penalties) : tf.scalar(0)) : undefined;
          return { logits, ctc, ...(penalty ? { align: penalty } : {}) } as unknown as tf.TensorContainer;
        }

        const towers: Record<string, { layers: LayerKV[]; length: number }> = {};
        const links: Record<string, LayerKV> = {};
        for (const t of c.towers) {
          if (active.includes(t.name)) {
            getRaw(t.name, t.config.nLayers); // every block, for the cache
            towers[t.name] = { layers: layerCaches.get(t.name) as LayerKV[], length: allGlobal.get(t.name)!.length };
          } else if (state.towers[t.name]) {
            const old = state.towers[t.name] as TowerState;
            towers[t.name] = { layers: old.cache.layers.map((l) => ({ k: tf.clone(l.k), v: tf.clone(l.v) })), length: old.cache.length };
          }
        }
        const readers = options.futureReaders ?? c.towers.map((t) => t.name);
        for (const link of c.schedule.links) {
          if (!readers.includes(link.to)) continue;
          const kv = active.includes(link.from) ? getKV(link) : (state.links[linkKey(link)] ?? null);
          if (kv) links[linkKey(link)] = active.includes(link.from) ? kv : { k: tf.clone(kv.k), v: tf.clone(kv.v) };
        }
        return { logits, towers, links } as unknown as tf.TensorContainer;
      } finally {
        for (const m of prepared) if (!m.full) m.prepared?.dispose();
      }
    }) as unknown as {
      logits: Record<string, tf.Tensor3D>;
      ctc?: Record<string, tf.Tensor3D>;
      align?: tf.Scalar;
      towers?: Record<string, { layers: LayerKV[]; length: number }>;
      links?: Record<string, LayerKV>;
    };

    if (!keep)
      return {
        logits: out.logits,
        ...(options.ctc ? { ctc: out.ctc ?? {} } : {}),
        ...(out.align ? { align: out.align } : {}),
      };
    const towers: Record<string, TowerState> = {};
    for (const [name, t] of Object.entries(out.towers ?? {})) {
      towers[name] = { cache: t.length === 0 ? emptyCache() : { layers: t.layers, length: t.length }, global: allGlobal.get(name)!.global };
    }
    const sourceWeightSums = Object.keys(weightSums).length > 0 ? { sourceWeightSums: weightSums } : {};
    return { logits: out.logits, state: { batchSize: B, towers, links: out.links ?? {}, ...sourceWeightSums } };
  }

  /** Number of scalar weights (towers included). */
  get numParams(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  /** The variable of one key; throws ShapeError naming the key. */
  param(key: string): tf.Variable {
    const v = this.params.get(key);
    if (!v) throw new ShapeError(`no parameter "${key}" in this zipped model`);
    return v;
  }

  /** Disposes every variable (towers included); the model is unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.params.values()) v.dispose();
  }

  /** The link on the rows `sub.rows` of x [B, T, D_X] (source [B, S, D_Y]); every other row is x's, exactly. */
  private applyLinkRows(
    link: FusionLink,
    x: tf.Tensor3D,
    source: tf.Tensor3D,
    sub: RowSubset,
    positions: Float32Array | undefined,
    prior: tf.Tensor3D | undefined,
    penalties: tf.Scalar[],
  ): tf.Tensor3D {
    const B = x.shape[0];
    const rest = Array.from({ length: B }, (_, b) => b).filter((b) => !sub.rows.includes(b));
    const back = new Int32Array(B); // row b of the result = row back[b] of [link rows; kept rows]
    [...sub.rows, ...rest].forEach((r, j) => (back[r] = j));
    const idx = tf.tensor1d(sub.rows, 'int32');
    const rowPositions = positions && pickRows(positions, sub.rows, source.shape[1]);
    const kv = crossKeysValues(this.crossWeights(link), tf.gather(source, idx, 0), this.crossOptions(link), 0, rowPositions); // [b, H, S, K] each
    const y = this.crossBlock(link, tf.gather(x, idx, 0), kv, sub.mask, 0, prior, penalties); // [b, T, D_X] (no state: positions from 0)
    const kept = tf.gather(x, tf.tensor1d(rest, 'int32'), 0); // [B - b, T, D_X]
    return tf.gather(tf.concat([y, kept], 0), tf.tensor1d(back, 'int32'), 0) as tf.Tensor3D;
  }

  private applyLink(
    link: FusionLink,
    x: tf.Tensor3D,
    kv: LayerKV | null,
    mask: CrossMask | null,
    start: number,
    prior: tf.Tensor3D | undefined,
    penalties: tf.Scalar[],
  ): tf.Tensor3D {
    if (!kv || !mask) return x; // no source position is visible to any reader position: exactly x
    return this.crossBlock(link, x, kv, mask, start, prior, penalties);
  }

  /** The gated block; with a prior, its penalty goes to `penalties`. */
  private crossBlock(
    link: FusionLink,
    x: tf.Tensor3D,
    kv: LayerKV,
    mask: CrossMask,
    start: number,
    prior: tf.Tensor3D | undefined,
    penalties: tf.Scalar[],
  ): tf.Tensor3D {
    if (!prior) return gatedCrossAttention(this.crossWeights(link), x, kv, mask, this.crossOptions(link), start);
    const r = gatedCrossAttentionWithPrior(this.crossWeights(link), x, kv, mask, this.crossOptions(link), prior, start);
    penalties.push(r.penalty);
    return r.y;
  }

  private inproj(x: string): { layers: ReturnType<typeof affineLayers>; gate?: tf.Tensor1D } {
    const c = this.config;
    if (c.inputProjection === 'none') return { layers: [] };
    const layers = affineLayers((k) => this.param(k), `inproj.${x}`, c.inputProjectionLayers);
    return c.inputProjection === 'gated' ? { layers, gate: this.param(`inproj.${x}.gate`) as tf.Tensor as tf.Tensor1D } : { layers };
  }

  /** The link's own source projection g (`cross.<X>_from_<Y>.<l>.proj`; none for a fed link other than its head's). */
  private linkProjection(link: FusionLink): AffineLayer[] {
    return affineLayers((k) => this.param(k), `${linkKey(link)}.proj`, linkProjectionLayers(this.config, link));
  }

  private crossWeights(link: FusionLink): CrossAttentionWeights {
    const p = linkKey(link);
    const w = (k: string) => this.param(`${p}.${k}`) as tf.Tensor;
    return {
      proj: feedingHead(this.config, link) ? [] : this.linkProjection(link), // a fed link's source is already projected (the head's encoder)
      normAttn: w('norm_attn.scale') as tf.Tensor1D,
      q: w('attn.q.weight') as tf.Tensor2D,
      kv: w('attn.kv.weight') as tf.Tensor2D,
      out: w('attn.out.weight') as tf.Tensor2D,
      gateAttn: w('gate_attn') as tf.Tensor1D,
      normFf: w('norm_ff.scale') as tf.Tensor1D,
      up: w('ff.up.weight') as tf.Tensor2D,
      down: w('ff.down.weight') as tf.Tensor2D,
      gateFf: w('gate_ff') as tf.Tensor1D,
    };
  }

  private crossOptions(link: FusionLink): CrossOptions {
    const c = towerSpec(this.config, link.to).config;
    const rope = crossRopeOf(this.config, link.to, link.from);
    return { nHeads: c.nHeads, normEps: c.normEps, ...(rope ? { rope: { base: c.ropeBase, rate: rope.rate } } : {}) };
  }

  private checkAlive(): void {
    if (this.disposed)
      throw new ShapeError(
        'this zipped model was disposed (or consumed by addTower); use the model addTower returned, or create a new one',
      );
  }
}
