/**
 * A checkpoint's `createdAt`: when its weights were made. Saving stamps the current time unless
 * given one, so that writing the same weights again (a release of a run, a format conversion)
 * can keep the time they were made and give the same bytes.
 */
import { CheckpointError } from '../errors.js';

/**
 * `given` checked (an ISO 8601 UTC timestamp as `Date.prototype.toISOString` writes it,
 * `2026-12-07T06:01:02.345Z`; CheckpointError otherwise), or the current time when absent.
 */
export function checkpointCreatedAt(given?: string): string {
  if (given === undefined) return new Date().toISOString();
  const t = typeof given === 'string' ? Date.parse(given) : NaN;
  if (!Number.isFinite(t) || new Date(t).toISOString() !== given)
    throw new CheckpointError(
      `createdAt must be an ISO 8601 UTC timestamp as Date.toISOString() writes it (e.g. 2026-12-07T06:01:02.345Z), got ${JSON.stringify(given)}`,
    );
  return given;
}
