/**
 * trainer.json of a training checkpoint: its integrity hash and the check of every field.
 *
 * The tensor files are covered by their sha256 in trainer.json; trainer.json itself (format
 * version 2) carries `integrity`, the sha256 of its own content without that field, as compact
 * JSON (`JSON.stringify`, keys in written order). A hand edit (`"step": 1e12`) or a damaged byte
 * then fails the check instead of resuming a different run. Version 1 files (no hash) are still
 * read, with every field range-checked.
 */
import { sha256Hex } from '@zipper/common/node';
import { CheckpointError } from '../errors.js';
import { showValue } from '@zipper/common';
import type { TrainerState } from './checkpoint.js';

/** Largest step count a checkpoint may claim (int32: ids, counters and schedules stay exact). */
export const MAX_CHECKPOINT_STEP = 0x7fffffff;

/** sha256 of the state without its `integrity` field, as compact JSON. */
export function stateIntegrity(state: Readonly<Record<string, unknown>>): string {
  const rest: Record<string, unknown> = { ...state };
  delete rest['integrity'];
  return sha256Hex(new TextEncoder().encode(JSON.stringify(rest)));
}

/** trainer.json text for a state (version 2: with its integrity hash). */
export function stateJson(state: Omit<TrainerState, 'integrity'>): string {
  return JSON.stringify({ ...state, integrity: stateIntegrity(state as unknown as Record<string, unknown>) }, null, 2) + '\n';
}

/**
 * Parses and checks trainer.json: format, version, integrity hash (version 2) and the type and
 * range of every field the loader uses. Throws CheckpointError naming the file and the field.
 */
export function parseTrainerState(text: string, file: string, format: string, versions: readonly number[]): TrainerState {
  const fail = (msg: string): never => {
    throw new CheckpointError(`${file}: ${msg}`);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return fail(`not valid JSON (${(e as Error).message}); the checkpoint is corrupted, use an older step directory`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(`must hold a JSON object, got ${showValue(v)}`);
  const s = v as Record<string, unknown>;
  if (s['format'] !== format) fail(`format ${showValue(s['format'])} is not "${format}"; this is not a training checkpoint`);
  const version = s['formatVersion'];
  if (typeof version !== 'number' || !versions.includes(version))
    fail(`formatVersion ${showValue(version)} is not supported (this reader knows ${versions.join(', ')}); upgrade @zipper/core`);
  if (version !== 1) {
    const want = s['integrity'];
    if (typeof want !== 'string')
      fail(
        `"integrity" must be the sha256 of the file's other fields, got ${showValue(want)}; the checkpoint is corrupted, use an older step directory`,
      );
    if (stateIntegrity(s) !== want)
      fail('integrity hash does not match its content; trainer.json was modified or corrupted, use an older step directory');
  }
  const count = (key: string, min: number): void => {
    const x = s[key];
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min || x > MAX_CHECKPOINT_STEP)
      fail(`"${key}" must be an integer in [${min}, ${MAX_CHECKPOINT_STEP}], got ${showValue(x)}`);
  };
  count('step', 0);
  count('optimizerStep', 0);
  count('accumulationSteps', 1);
  const clip = s['maxGradNorm'];
  if (clip !== null && (typeof clip !== 'number' || !(clip > 0) || !Number.isFinite(clip)))
    fail(`"maxGradNorm" must be a number > 0 or null (no clipping), got ${showValue(clip)}`);
  const trainable = s['trainable'];
  if (!Array.isArray(trainable) || !trainable.every((k) => typeof k === 'string'))
    fail(`"trainable" must be an array of parameter keys, got ${showValue(trainable)}`);
  for (const key of ['schedule', 'optimizer', 'files']) {
    const x = s[key];
    if (x === null || typeof x !== 'object' || Array.isArray(x)) fail(`"${key}" must be an object, got ${showValue(x)}`);
  }
  for (const [name, f] of Object.entries(s['files'] as Record<string, unknown>)) {
    const sha = (f as { sha256?: unknown } | null)?.sha256;
    if (typeof sha !== 'string' || !/^[0-9a-f]{64}$/.test(sha))
      fail(`"files.${name}.sha256" must be a sha256 hex digest, got ${showValue(sha)}`);
  }
  return s as unknown as TrainerState;
}
