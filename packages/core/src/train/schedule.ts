/**
 * Learning-rate schedule: linear warmup, then cosine decay to a floor.
 *
 *   s < warmupSteps:                lr = peakLr * (s + 1) / warmupSteps
 *   warmupSteps <= s < totalSteps:  p = (s - warmupSteps) / (totalSteps - warmupSteps)
 *                                   lr = minLr + (peakLr - minLr) * (1 + cos(pi * p)) / 2
 *   s >= totalSteps:                lr = minLr
 *
 * `s` is the 0-based index of the optimizer step, so the first step already gets a non-zero lr.
 */
import { ConfigError } from '../errors.js';

export interface ScheduleConfig {
  /** Learning rate at the end of warmup. */
  readonly peakLr: number;
  /** Floor of the cosine decay (and lr after `totalSteps`). */
  readonly minLr: number;
  /** Steps of linear warmup (0 = none). */
  readonly warmupSteps: number;
  /** Step at which the cosine reaches `minLr`. */
  readonly totalSteps: number;
}

export const DEFAULT_SCHEDULE: ScheduleConfig = { peakLr: 3e-4, minLr: 3e-5, warmupSteps: 0, totalSteps: 1000 };

export function resolveScheduleConfig(partial: Partial<ScheduleConfig> = {}): ScheduleConfig {
  const peakLr = partial.peakLr ?? DEFAULT_SCHEDULE.peakLr;
  const c: ScheduleConfig = {
    peakLr,
    minLr: partial.minLr ?? Math.min(DEFAULT_SCHEDULE.minLr, peakLr / 10),
    warmupSteps: partial.warmupSteps ?? DEFAULT_SCHEDULE.warmupSteps,
    totalSteps: partial.totalSteps ?? DEFAULT_SCHEDULE.totalSteps,
  };
  if (!(Number.isFinite(c.peakLr) && c.peakLr > 0)) throw new ConfigError(`schedule.peakLr must be a finite number > 0, got ${c.peakLr}`);
  if (!(Number.isFinite(c.minLr) && c.minLr >= 0 && c.minLr <= c.peakLr)) {
    throw new ConfigError(`schedule.minLr must satisfy 0 <= minLr <= peakLr (${c.peakLr}), got ${c.minLr}`);
  }
  if (!Number.isInteger(c.warmupSteps) || c.warmupSteps < 0)
    throw new ConfigError(`schedule.warmupSteps must be an integer >= 0, got ${c.warmupSteps}`);
  if (!Number.isInteger(c.totalSteps) || c.totalSteps < c.warmupSteps || c.totalSteps < 1) {
    throw new ConfigError(`schedule.totalSteps must be an integer >= max(1, warmupSteps = ${c.warmupSteps}), got ${c.totalSteps}`);
  }
  return c;
}

/** The learning rate of 0-based optimizer step `step`. */
export function learningRateAt(schedule: ScheduleConfig, step: number): number {
  const { peakLr, minLr, warmupSteps, totalSteps } = schedule;
  if (step < warmupSteps) return (peakLr * (step + 1)) / warmupSteps;
  if (step >= totalSteps) return minLr;
  const progress = (step - warmupSteps) / (totalSteps - warmupSteps);
  return minLr + ((peakLr - minLr) * (1 + Math.cos(Math.PI * progress))) / 2;
}
