/**
 * A checkpoint's `createdAt`: when its weights were made. Saving stamps the current time unless
 * given one, so that writing the same weights again (a release of a run, a format conversion)
 * can keep the time they were made and give the same bytes.
 */
import { CheckpointError } from '../errors.js';

/** An ISO 8601 date and time with its zone: `toISOString`'s `...T06:01:02.345Z`, Python's `isoformat()` `...+00:00`. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * `given` checked and kept verbatim (an ISO 8601 date and time with its zone, as `toISOString`
 * writes it, `2026-12-07T06:01:02.345Z`, or Python's `isoformat()` of an aware time, which
 * tools/interop/convert.py writes; CheckpointError otherwise), or the current time when absent.
 */
export function checkpointCreatedAt(given?: string): string {
  if (given === undefined) return new Date().toISOString();
  if (typeof given !== 'string' || !ISO_TIME.test(given) || !Number.isFinite(Date.parse(given)))
    throw new CheckpointError(
      `createdAt must be an ISO 8601 date and time with its zone (e.g. 2026-12-07T06:01:02.345Z), got ${JSON.stringify(given)}`,
    );
  return given;
}
