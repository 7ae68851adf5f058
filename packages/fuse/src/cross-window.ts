/**
 * Cross windows (docs/zipper.md, "Cross windows"; beyond the paper, a decoding option): the links
 * `to <- from` read only the source positions near their cross-rope diagonal. A reader position at
 * rank n (its position among its tower's positions in the row, from 0, as the rope counts it) may
 * attend the source position at rank m only if |m - c| <= width, where c = n * rate (the link
 * pair's `crossRope` rate, source positions per reader position) clamped to the row's source
 * positions. The causal cross mask still applies. DC-TTS (Tachibana et al. 2018) keeps its
 * synthesis attention near where it was in the same spirit; here the centre moves at the rate the
 * rope was trained with, so the speech is held to the text's pace.
 */
import { ConfigError } from '@zipper/core';
import { crossRopeOf, resolveLinkPairs, type ZipperConfig } from './config.js';
import { UnknownTowerError } from './errors.js';

/** A window on the links `to <- from`: `width` source positions either side of the diagonal. */
export interface CrossWindow {
  readonly to: string;
  readonly from: string;
  readonly width: number;
}

/** A window with its pair's rope rate. */
export interface ResolvedCrossWindow extends CrossWindow {
  readonly rate: number;
}

/** Checks `windows` against the model (config.ts `resolveLinkPairs`: known towers, a link, width > 0, no pair twice) and takes each pair's cross-rope rate. */
export function resolveCrossWindows(c: ZipperConfig, windows: readonly CrossWindow[] | undefined): readonly ResolvedCrossWindow[] {
  if (windows === undefined) return [];
  const names = c.towers.map((t) => t.name);
  const pairs = resolveLinkPairs(
    'crossWindow',
    windows,
    'width',
    'source positions either side of the diagonal',
    names,
    c.schedule,
    (m) => new UnknownTowerError(m),
  );
  return pairs.map((w, i) => {
    const rope = crossRopeOf(c, w.to, w.from);
    if (!rope)
      throw new ConfigError(
        `crossWindow[${i}]: the links ${w.to} <- ${w.from} have no cross positions (config.crossRope), whose rate the window's centre follows`,
      );
    if (rope.sourceWeights)
      throw new ConfigError(
        `crossWindow[${i}]: the links ${w.to} <- ${w.from} count their source positions by weight (crossRope sourceWeights); a window counts ranks, so the two do not combine`,
      );
    return Object.freeze({ to: w.to, from: w.from, width: w.width, rate: rope.rate });
  });
}

/** The window of the pair `to <- from`, if any. */
export function crossWindowOf(windows: readonly ResolvedCrossWindow[], to: string, from: string): ResolvedCrossWindow | undefined {
  return windows.find((w) => w.to === to && w.from === from);
}

/** A window placed in a run: the reader's first new position's rank (`start`), the rate and the width. */
export interface PlacedCrossWindow {
  readonly start: number;
  readonly rate: number;
  readonly width: number;
}

/**
 * Whether the reader position at index i (rank start + i) may read the source position at rank j
 * of a row whose last source position is at rank `last`.
 */
export function inCrossWindow(w: PlacedCrossWindow, i: number, j: number, last: number): boolean {
  const c = Math.min(Math.max((w.start + i) * w.rate, 0), last);
  return Math.abs(j - c) <= w.width;
}
