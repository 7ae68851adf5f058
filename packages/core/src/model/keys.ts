/**
 * Parameter keys as module paths: a key is the dotted path of a weight in the module tree, and
 * the same string is its checkpoint key. Composite models compose them by prefixing: the text
 * tower's `blocks.3.qkv.weight` is `towers.text.blocks.3.qkv.weight` in a zipped model, and a
 * fusion link's query weight is `cross.text_from_speech.2.attn.q.weight`.
 *
 *   joinKey('towers', 'speech', 'blocks', 3, 'qkv.weight')   // 'towers.speech.blocks.3.qkv.weight'
 *   prefixKeys('towers.text', tower.params)                  // every key under towers.text.
 *   stripPrefix('towers.text', zipped.params)                // the text tower's own keys back
 *   keySetProblems(expected, shapesOf(tensors))             // [] or problems naming each key
 *
 * One check for every place that loads or compares weight sets (tower loading, training resume,
 * optimizer state, data-parallel replicas): the full key set and every shape, with messages that
 * name the offending keys.
 */
import { ShapeError } from '../errors.js';

/** Keys named in full in one problem line; the rest are counted. */
const LISTED = 8;

const SEGMENT = /^[^.\s]+(\.[^.\s]+)*$/;

/** Checks that `key` is a dotted path of non-empty segments (no spaces, no leading/trailing/double dots). */
export function checkKey(key: string): string {
  if (typeof key !== 'string' || !SEGMENT.test(key))
    throw new ShapeError(
      `parameter key ${JSON.stringify(key)} is not a module path: dotted non-empty segments without spaces, e.g. "blocks.3.qkv.weight"`,
    );
  return key;
}

/** Joins path segments (strings or layer indices) with dots: joinKey('blocks', 3, 'qkv.weight'). */
export function joinKey(...parts: readonly (string | number)[]): string {
  for (const p of parts) {
    if (typeof p === 'number' && !(Number.isInteger(p) && p >= 0))
      throw new ShapeError(`a key segment index must be an integer >= 0, got ${p}`);
  }
  return checkKey(parts.map(String).join('.'));
}

/** A new map with every key written `${prefix}.${key}` (order kept). */
export function prefixKeys<V>(prefix: string, map: ReadonlyMap<string, V>): Map<string, V> {
  checkKey(prefix);
  const out = new Map<string, V>();
  for (const [k, v] of map) out.set(joinKey(prefix, k), v);
  return out;
}

/** The entries under `${prefix}.`, with that prefix removed (order kept); other keys are left out. */
export function stripPrefix<V>(prefix: string, map: ReadonlyMap<string, V>): Map<string, V> {
  const head = `${checkKey(prefix)}.`;
  const out = new Map<string, V>();
  for (const [k, v] of map) if (k.startsWith(head)) out.set(k.slice(head.length), v);
  return out;
}

/** Every key's shape (of tensors, variables or host tensors). */
export function shapesOf(map: ReadonlyMap<string, { readonly shape: readonly number[] }>): Map<string, readonly number[]> {
  return new Map([...map].map(([k, t]) => [k, t.shape]));
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function listed(keys: readonly string[]): string {
  const head = keys.slice(0, LISTED).join(', ');
  return keys.length > LISTED ? `${head} (and ${keys.length - LISTED} more)` : head;
}

/**
 * Compares a key -> shape set with the expected one. Returns the problems (empty if none), each
 * naming its keys: `missing keys: ...`, `unexpected keys: ...`, `<key>: shape [..], expected [..]`.
 */
export function keySetProblems(expected: ReadonlyMap<string, readonly number[]>, actual: ReadonlyMap<string, readonly number[]>): string[] {
  const problems: string[] = [];
  const missing = [...expected.keys()].filter((k) => !actual.has(k));
  const unexpected = [...actual.keys()].filter((k) => !expected.has(k));
  if (missing.length > 0) problems.push(`missing keys: ${listed(missing)}`);
  if (unexpected.length > 0) problems.push(`unexpected keys: ${listed(unexpected)}`);
  for (const [key, shape] of actual) {
    const want = expected.get(key);
    if (want && !sameShape(want, shape)) problems.push(`${key}: shape [${shape.join(', ')}], expected [${want.join(', ')}]`);
  }
  return problems;
}
