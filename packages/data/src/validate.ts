/**
 * Validation of manifest records: every field's presence, type and range, fields that must be
 * absent, and id uniqueness. Errors name the file, the 1-based line and the field.
 */
import { ManifestError } from './errors.js';
import type { RecordOfKind } from './records.js';
import type { RecordKind } from './splits.js';

const HEX64 = /^[0-9a-f]{64}$/;

type Json = Record<string, unknown>;

/** Where a record came from, for error messages. */
export interface RecordSource {
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
}

/** Checks one parsed JSON value against `kind`; returns it typed, or throws ManifestError. */
export function validateRecord<K extends RecordKind>(value: unknown, kind: K, at: RecordSource): RecordOfKind[K] {
  const fail = (field: string | undefined, problem: string): never => {
    throw new ManifestError(at.file, at.line, field, problem);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(undefined, `expected a JSON object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  const o = value as Json;
  const str = (k: string, re?: RegExp, what?: string) => {
    const v = o[k];
    if (v === undefined) fail(k, 'is missing');
    if (typeof v !== 'string' || v.length === 0) fail(k, `must be a non-empty string, got ${JSON.stringify(v)}`);
    if (re && !re.test(v as string)) fail(k, `must be ${what}, got ${JSON.stringify(v)}`);
  };
  const num = (k: string, ok: (n: number) => boolean, what: string) => {
    const v = o[k];
    if (v === undefined) fail(k, 'is missing');
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) fail(k, `must be ${what}, got ${JSON.stringify(v)}`);
  };
  const absent = (k: string, why: string) => {
    if (k in o) fail(k, `must not be present ${why}`);
  };

  str('id');
  str('voice');
  num('sampleRate', (n) => Number.isInteger(n) && n > 0, 'a positive integer (Hz)');
  num('samples', (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0');
  num('duration', (n) => n >= 0, 'a number >= 0 (seconds)');
  if (Math.abs((o['duration'] as number) - (o['samples'] as number) / (o['sampleRate'] as number)) > 1e-6) {
    fail('duration', `is ${o['duration']} but samples / sampleRate = ${(o['samples'] as number) / (o['sampleRate'] as number)}`);
  }
  str('path');
  const p = o['path'] as string;
  if (p.startsWith('/') || p.split(/[\\/]/).includes('..')) fail('path', `must be relative to the data directory and stay inside it, got ${JSON.stringify(p)}`);
  str('sha256', HEX64, '64 lowercase hex digits');

  if (kind === 'speech-only') {
    absent('text', 'in speech-only (transcripts are withheld from speech pretraining)');
    str('textSha256', HEX64, '64 lowercase hex digits');
  } else {
    str('text');
    absent('textSha256', `in a ${kind} record (only speech-only hides its text)`);
  }
  if (kind === 'test-other') {
    num('tempo', (n) => n > 0, 'a number > 0');
    num('snrDb', () => true, 'a number (dB)');
    if (o['noise'] !== 'white' && o['noise'] !== 'pink') fail('noise', `must be "white" or "pink", got ${JSON.stringify(o['noise'])}`);
  } else {
    for (const k of ['tempo', 'snrDb', 'noise']) absent(k, `outside test-other`);
  }
  return o as unknown as RecordOfKind[K];
}

/**
 * Parses a whole JSONL manifest: every non-empty line is a record of `kind`; ids must be unique.
 * Blank lines are allowed only at the end (a trailing newline).
 */
export function parseManifest<K extends RecordKind>(text: string, kind: K, file: string): RecordOfKind[K][] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const out: RecordOfKind[K][] = [];
  const seen = new Map<string, number>();
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') throw new ManifestError(file, line, undefined, 'empty line inside the manifest');
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (e) {
      throw new ManifestError(file, line, undefined, `not valid JSON (${(e as Error).message})`);
    }
    const r = validateRecord(v, kind, { file, line });
    const first = seen.get(r.id);
    if (first !== undefined) throw new ManifestError(file, line, 'id', `"${r.id}" repeats line ${first}`);
    seen.set(r.id, line);
    out.push(r);
  });
  return out;
}
