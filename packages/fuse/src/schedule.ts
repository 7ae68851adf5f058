/**
 * The fusion schedule as data: which layer of which tower cross-attends to which layer of which
 * other tower (Zipper §3: layer k = n * i_A of tower A reads layer l = n * i_B of tower B, and
 * vice versa). Layers are counted 1..nLayers as "output of block l"; 0 is the input projection.
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

/**
 * The paper's schedule for every ordered pair of towers: `count` cross-attention layers per
 * direction; tower X's n-th fused layer sits after block n * i_X with i_X = nLayers_X / count,
 * and reads the other tower's block n * i_Y.
 */
export function everyNthSchedule(towers: readonly TowerShape[], count: number): FusionSchedule {
  if (!Number.isInteger(count) || count < 1) throw new ConfigError(`count must be a positive integer, got ${count}`);
  const links: FusionLink[] = [];
  for (const to of towers) {
    for (const from of towers) {
      if (to.name === from.name) continue;
      for (let n = 1; n <= count; n++) {
        links.push({ to: to.name, toLayer: layerAt(to, n, count), from: from.name, fromLayer: layerAt(from, n, count) });
      }
    }
  }
  return resolveFusionSchedule({ towers, links });
}

function layerAt(t: TowerShape, n: number, count: number): number {
  if (count > t.nLayers) throw new ConfigError(`tower "${t.name}" has ${t.nLayers} layers, fewer than ${count} fused layers`);
  if (t.nLayers % count !== 0) throw new ConfigError(`tower "${t.name}": nLayers ${t.nLayers} is not a multiple of ${count} fused layers`);
  return n * (t.nLayers / count);
}

/** Validates a schedule: known tower names, layer ranges, no self links, no duplicate links. */
export function resolveFusionSchedule(s: FusionSchedule): FusionSchedule {
  if (s.towers.length < 2) throw new ConfigError(`a schedule needs at least 2 towers, got ${s.towers.length}`);
  const byName = new Map<string, TowerShape>();
  for (const t of s.towers) {
    if (!/^[a-z][a-z0-9_]*$/.test(t.name)) throw new ConfigError(`tower name "${t.name}" must match [a-z][a-z0-9_]* (it becomes part of weight keys)`);
    if (byName.has(t.name)) throw new ConfigError(`tower name "${t.name}" appears twice`);
    if (!Number.isInteger(t.nLayers) || t.nLayers < 1) throw new ConfigError(`tower "${t.name}": nLayers must be a positive integer, got ${t.nLayers}`);
    if (!Number.isInteger(t.dModel) || t.dModel < 1) throw new ConfigError(`tower "${t.name}": dModel must be a positive integer, got ${t.dModel}`);
    byName.set(t.name, t);
  }
  const seen = new Set<string>();
  for (const l of s.links) {
    const to = byName.get(l.to);
    const from = byName.get(l.from);
    if (!to) throw new ConfigError(`link target tower "${l.to}" is not one of ${[...byName.keys()].join(', ')}`);
    if (!from) throw new ConfigError(`link source tower "${l.from}" is not one of ${[...byName.keys()].join(', ')}`);
    if (l.to === l.from) throw new ConfigError(`tower "${l.to}" cannot cross-attend to itself`);
    if (!Number.isInteger(l.toLayer) || l.toLayer < 1 || l.toLayer > to.nLayers) throw new ConfigError(`link ${l.from}->${l.to}: toLayer ${l.toLayer} outside 1..${to.nLayers}`);
    if (!Number.isInteger(l.fromLayer) || l.fromLayer < 0 || l.fromLayer > from.nLayers) throw new ConfigError(`link ${l.from}->${l.to}: fromLayer ${l.fromLayer} outside 0..${from.nLayers}`);
    const key = `${l.from}->${l.to}@${l.toLayer}`;
    if (seen.has(key)) throw new ConfigError(`duplicate link ${key}`);
    seen.add(key);
  }
  return { towers: s.towers.map((t) => ({ ...t })), links: [...s.links].map((l) => ({ ...l })).sort(linkOrder) };
}

function linkOrder(a: FusionLink, b: FusionLink): number {
  return a.to.localeCompare(b.to) || a.toLayer - b.toLayer || a.from.localeCompare(b.from);
}

/** Weight-key prefix of a link's cross-attention module: `cross.<from>_to_<to>.<toLayer>`. */
export function linkKey(l: FusionLink): string {
  return `cross.${l.from}_to_${l.to}.${l.toLayer}`;
}
