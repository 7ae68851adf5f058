/**
 * The fusion schedule as data: which layer of which tower cross-attends to which layer of which
 * other tower (docs/zipper.md; Zipper §3: layer k = n * i_A of tower A reads layer l = n * i_B
 * of tower B, and vice versa). A link's `toLayer` counts 1..nLayers ("after block toLayer");
 * `fromLayer` counts 0..nLayers (0 = the source's input projection output h0, l = the output of
 * block l, read before any cross-attention that follows that block).
 *
 * Schedule order (the order in which several links into the same reader layer are applied):
 * links sorted by (to, toLayer, from). Links that form a dependency cycle are refused.
 */
import { ConfigError } from '@zipper/core';

/** What the schedule needs to know of a tower. */
export interface TowerShape {
  readonly name: string;
  readonly nLayers: number;
  readonly dModel: number;
}

/** `to` tower's block `toLayer` is followed by a gated cross-attention reading `from` tower's `fromLayer` output. */
export interface FusionLink {
  readonly to: string;
  readonly toLayer: number;
  readonly from: string;
  readonly fromLayer: number;
}

export interface FusionSchedule {
  readonly towers: readonly TowerShape[];
  readonly links: readonly FusionLink[];
}

/** Tower names become parts of weight keys. */
export const TOWER_NAME = /^[a-z][a-z0-9_]*$/;

/**
 * The paper's rule with an interval per tower (i_A != i_B allowed): for every ordered pair
 * (X reads Y), link n = 1, 2, ... puts a cross-attention after X's block n * i_X reading Y's
 * block n * i_Y, while both exist.
 */
export function intervalSchedule(towers: readonly TowerShape[], intervals: Readonly<Record<string, number>>): FusionSchedule {
  const names = new Set(towers.map((t) => t.name));
  for (const name of Object.keys(intervals)) {
    if (!names.has(name)) throw new ConfigError(`schedule interval names tower "${name}", which is not one of ${[...names].join(', ')}`);
  }
  const links: FusionLink[] = [];
  for (const to of towers) {
    for (const from of towers) {
      if (to.name === from.name) continue;
      const iTo = intervalOf(to, intervals);
      const iFrom = intervalOf(from, intervals);
      for (let n = 1; n * iTo <= to.nLayers && n * iFrom <= from.nLayers; n++) {
        links.push({ to: to.name, toLayer: n * iTo, from: from.name, fromLayer: n * iFrom });
      }
    }
  }
  return resolveFusionSchedule({ towers, links });
}

function intervalOf(t: TowerShape, intervals: Readonly<Record<string, number>>): number {
  const i = intervals[t.name];
  if (i === undefined) throw new ConfigError(`schedule intervals name no interval for tower "${t.name}"; give one per tower`);
  if (!Number.isInteger(i) || i < 1 || i > t.nLayers)
    throw new ConfigError(`schedule interval of tower "${t.name}" must be an integer in 1..${t.nLayers} (its nLayers), got ${i}`);
  return i;
}

/**
 * `count` cross-attention layers per direction for every ordered pair: tower X's n-th fused layer
 * sits after block n * i_X with i_X = nLayers_X / count and reads the other tower's block n * i_Y.
 */
export function everyNthSchedule(towers: readonly TowerShape[], count: number): FusionSchedule {
  if (!Number.isInteger(count) || count < 1) throw new ConfigError(`count must be a positive integer, got ${count}`);
  const intervals: Record<string, number> = {};
  for (const t of towers) {
    if (count > t.nLayers) throw new ConfigError(`tower "${t.name}" has ${t.nLayers} layers, fewer than ${count} fused layers`);
    if (t.nLayers % count !== 0)
      throw new ConfigError(`tower "${t.name}": nLayers ${t.nLayers} is not a multiple of ${count} fused layers`);
    intervals[t.name] = t.nLayers / count;
  }
  return intervalSchedule(towers, intervals);
}

/** Validates a schedule: known tower names, layer ranges, no self links, no duplicate links, no cycle. */
export function resolveFusionSchedule(s: FusionSchedule): FusionSchedule {
  if (s === null || typeof s !== 'object' || !Array.isArray(s.towers) || !Array.isArray(s.links))
    throw new ConfigError('a schedule is { towers: TowerShape[], links: FusionLink[] }');
  if (s.towers.length < 2) throw new ConfigError(`a schedule needs at least 2 towers, got ${s.towers.length}`);
  const byName = new Map<string, TowerShape>();
  for (const t of s.towers) {
    if (!TOWER_NAME.test(t.name))
      throw new ConfigError(`tower name "${t.name}" must match [a-z][a-z0-9_]* (it becomes part of weight keys)`);
    if (byName.has(t.name)) throw new ConfigError(`tower name "${t.name}" appears twice`);
    if (!Number.isInteger(t.nLayers) || t.nLayers < 1)
      throw new ConfigError(`tower "${t.name}": nLayers must be a positive integer, got ${t.nLayers}`);
    if (!Number.isInteger(t.dModel) || t.dModel < 1)
      throw new ConfigError(`tower "${t.name}": dModel must be a positive integer, got ${t.dModel}`);
    byName.set(t.name, t);
  }
  const seen = new Set<string>();
  for (const l of s.links) {
    const to = byName.get(l.to);
    const from = byName.get(l.from);
    if (!to) throw new ConfigError(`link target tower "${l.to}" is not one of ${[...byName.keys()].join(', ')}`);
    if (!from) throw new ConfigError(`link source tower "${l.from}" is not one of ${[...byName.keys()].join(', ')}`);
    if (l.to === l.from) throw new ConfigError(`tower "${l.to}" cannot cross-attend to itself`);
    if (!Number.isInteger(l.toLayer) || l.toLayer < 1 || l.toLayer > to.nLayers)
      throw new ConfigError(
        `link ${linkKey(l)}: toLayer ${l.toLayer} outside 1..${to.nLayers} (tower "${to.name}" has ${to.nLayers} layers)`,
      );
    if (!Number.isInteger(l.fromLayer) || l.fromLayer < 0 || l.fromLayer > from.nLayers)
      throw new ConfigError(
        `link ${linkKey(l)}: fromLayer ${l.fromLayer} outside 0..${from.nLayers} (tower "${from.name}" has ${from.nLayers} layers)`,
      );
    const key = linkKey(l);
    if (seen.has(key)) throw new ConfigError(`duplicate link ${key}: one cross-attention per (reader, reader layer, source)`);
    seen.add(key);
  }
  const links = [...s.links].map((l) => ({ to: l.to, toLayer: l.toLayer, from: l.from, fromLayer: l.fromLayer })).sort(linkOrder);
  const cycle = findCycle(s.towers, links);
  if (cycle)
    throw new ConfigError(
      `the schedule's links form a dependency cycle (${cycle}); a reader layer may only read source layers that do not depend on it`,
    );
  return { towers: s.towers.map((t) => ({ name: t.name, nLayers: t.nLayers, dModel: t.dModel })), links };
}

/** Schedule order: (to, toLayer, from). */
export function linkOrder(a: FusionLink, b: FusionLink): number {
  return cmp(a.to, b.to) || a.toLayer - b.toLayer || cmp(a.from, b.from);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Weight-key prefix of a link's cross-attention module: `cross.<to>_from_<from>.<toLayer>`. */
export function linkKey(l: Pick<FusionLink, 'to' | 'from' | 'toLayer'>): string {
  return `cross.${l.to}_from_${l.from}.${l.toLayer}`;
}

/**
 * A dependency cycle among the links, as text, or undefined. Nodes: `X.raw(l)` (output of X's
 * block l, or h0 for l = 0) and `X.post(l)` (after the cross-attention layers that follow block
 * l). raw(l) needs post(l - 1); post(l) needs raw(l) and, per link (X, l, Y, m), Y.raw(m).
 */
function findCycle(towers: readonly TowerShape[], links: readonly FusionLink[]): string | undefined {
  const into = new Map<string, FusionLink[]>();
  for (const l of links) into.set(`${l.to}.${l.toLayer}`, [...(into.get(`${l.to}.${l.toLayer}`) ?? []), l]);
  const deps = (node: string): string[] => {
    const [tower, kind, layerText] = node.split(':') as [string, string, string];
    const layer = Number(layerText);
    if (kind === 'raw') return layer === 0 ? [] : [`${tower}:post:${layer - 1}`];
    return [`${tower}:raw:${layer}`, ...(into.get(`${tower}.${layer}`) ?? []).map((l) => `${l.from}:raw:${l.fromLayer}`)];
  };
  const state = new Map<string, 1 | 2>(); // 1 = on the stack, 2 = done
  const stack: string[] = [];
  const visit = (node: string): string | undefined => {
    const s = state.get(node);
    if (s === 2) return undefined;
    if (s === 1) return [...stack.slice(stack.indexOf(node)), node].map(show).join(' needs ');
    state.set(node, 1);
    stack.push(node);
    for (const d of deps(node)) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(node, 2);
    return undefined;
  };
  for (const t of towers) {
    const c = visit(`${t.name}:post:${t.nLayers}`);
    if (c) return c;
  }
  return undefined;
}

function show(node: string): string {
  const [tower, kind, layer] = node.split(':');
  return kind === 'raw' ? `${tower} block ${layer}` : `${tower} after the cross-attention at ${layer}`;
}
