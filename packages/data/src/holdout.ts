/**
 * A deterministic held-out part of a split that has no dev counterpart (speech-only): the LAST
 * `max(min, round(fraction * n))` items in manifest order. The manifest order is the builder's
 * seeded shuffle with voices dealt round-robin, so the tail is a random sample covering every
 * voice, and the rule depends on nothing but the manifest.
 */
import { DataConfigError } from './errors.js';

export interface HoldOutOptions {
  /** Share of the items held out (default 0.02). */
  readonly fraction?: number;
  /** At least this many held out (default 1); at least one item always stays for training. */
  readonly min?: number;
}

export function holdOut<T>(items: readonly T[], options: HoldOutOptions = {}): { readonly train: T[]; readonly heldOut: T[] } {
  const fraction = options.fraction ?? 0.02;
  const min = options.min ?? 1;
  if (!(fraction >= 0 && fraction < 1)) throw new DataConfigError(`holdOut fraction must be in [0, 1), got ${fraction}`);
  if (!Number.isInteger(min) || min < 0) throw new DataConfigError(`holdOut min must be an integer >= 0, got ${min}`);
  if (items.length < 2) throw new DataConfigError(`holdOut needs at least 2 items (one to train on, one to hold out), got ${items.length}`);
  const k = Math.min(items.length - 1, Math.max(min, Math.round(fraction * items.length)));
  return { train: items.slice(0, items.length - k), heldOut: items.slice(items.length - k) };
}
