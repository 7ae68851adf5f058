// Seeded generators of hostile inputs for fuzz.test.ts: argument lists built from per-option
// value pools (valid but cheap, and invalid), then mutated; files as random bytes, truncated or
// bit-flipped copies of valid ones, WAVs with rewritten header fields, JSON with values of the
// wrong type, and id lists with bad tokens. Everything comes from one Mulberry32 stream.
import { Mulberry32 } from '@zipper/common';

/** Values of one option: `[valid, invalid]`, or `true` for a boolean flag. */
export type Pool = readonly [readonly string[], readonly string[]] | true;

export class Fuzz {
  private readonly rng: Mulberry32;

  constructor(seed: number) {
    this.rng = new Mulberry32(seed);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.rng.next() * n);
  }

  chance(p: number): boolean {
    return this.rng.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.int(256));
  }

  /** A string that is not a sensible option value: empty, spaces, unicode, a flag, a huge number, random latin1. */
  junk(): string {
    return this.pick([
      '',
      ' ',
      '-1',
      '--',
      '-',
      'NaN',
      'Infinity',
      '1e309',
      '0x10',
      '1_000',
      '٣',
      '9'.repeat(40),
      '=',
      'a'.repeat(5000),
      Buffer.from(this.bytes(1 + this.int(12)))
        .toString('latin1')
        .replace(/\0/g, ''),
    ]);
  }

  /**
   * An argument list from `pools` (option -> `[valid values, invalid values]`, or `true` for a
   * boolean flag; a valid value is taken 90% of the time), then, in a third of the lists, mutated:
   * words dropped or repeated, unknown options, stray positionals, values replaced by junk.
   * Some options are written `--opt=value`.
   */
  args(pools: Readonly<Record<string, Pool>>, required: readonly string[] = [], rate = 0.35): string[] {
    const out: string[] = [];
    for (const [name, pool] of Object.entries(pools)) {
      if (!required.includes(name) && !this.chance(rate)) continue; // each optional one with probability `rate`
      if (pool === true) {
        out.push(`--${name}`);
        continue;
      }
      const [good, bad] = pool;
      const value = good.length > 0 && (bad.length === 0 || this.chance(0.9)) ? this.pick(good) : this.pick(bad);
      if (this.chance(0.15)) out.push(`--${name}=${value}`);
      else out.push(`--${name}`, value);
    }
    const mutations = this.chance(0.35) ? 1 + this.int(2) : 0;
    for (let m = 0; m < mutations; m++) {
      const k = this.int(7);
      if (k === 0 && out.length > 0)
        out.splice(this.int(out.length), 1); // drop a word (a value becomes an option or a positional)
      else if (k === 1) out.splice(this.int(out.length + 1), 0, this.pick(['--bogus', '-x', '--help', '-h', '--', '--json', '--in']));
      else if (k === 2) out.splice(this.int(out.length + 1), 0, this.pick(['foo', '1', 'build', 'train']));
      else if (k === 3 && out.length > 0) out[this.int(out.length)] = this.junk();
      else if (k === 4 && out.length > 1) out.push(...out.slice(0, 2)); // a repeated option
    }
    return out;
  }

  /** A copy of `b` cut short, with flipped bytes, with a random tail, or random bytes. */
  mutateBytes(b: Uint8Array): Uint8Array {
    const k = this.int(4);
    if (k === 0) return b.slice(0, this.int(b.length + 1));
    if (k === 1) {
      const c = b.slice();
      for (let i = 1 + this.int(8); i > 0 && c.length > 0; i--) c[this.int(c.length)] = this.int(256);
      return c;
    }
    if (k === 2) return Uint8Array.from([...b, ...this.bytes(this.int(64))]);
    return this.bytes(this.int(2048));
  }

  /** A WAV with one header field (channels, rate, byte rate, align, bits, chunk sizes, format) rewritten, or a byte mutation. */
  mutateWav(wav: Uint8Array): Uint8Array {
    if (this.chance(0.3)) return this.mutateBytes(wav);
    const c = wav.slice();
    const v = new DataView(c.buffer);
    const fields: [number, 2 | 4][] = [
      [4, 4],
      [16, 4],
      [20, 2],
      [22, 2],
      [24, 4],
      [28, 4],
      [32, 2],
      [34, 2],
      [40, 4],
    ];
    const [at, size] = this.pick(fields);
    const value = this.pick([0, 1, 2, 3, 7, 8, 24, 255, 1000, 22050, 65535, 0x7fffffff, 0xffffffff, this.int(2 ** 32)]);
    if (at + size <= c.length) {
      if (size === 2) v.setUint16(at, value & 0xffff, true);
      else v.setUint32(at, value >>> 0, true);
    }
    return c;
  }

  /** A JSON value with one member or element replaced by a value of the wrong kind (or removed), as text; sometimes truncated. */
  mutateJson(value: unknown): string {
    const bad = (): unknown => this.pick([null, -1, 1e12, 2 ** 53 + 2, 0.5, '64', '', [], {}, [[[]]], true, 'x'.repeat(1000), -0]);
    const walk = (v: unknown, depth: number): unknown => {
      if (depth > 0 && this.chance(0.25)) return bad();
      if (Array.isArray(v)) {
        const a = v.map((x) => (this.chance(0.2) ? walk(x, depth + 1) : x));
        if (this.chance(0.1)) a.splice(this.int(a.length + 1), 0, bad());
        return a;
      }
      if (v !== null && typeof v === 'object') {
        const o: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) {
          if (this.chance(0.08)) continue; // drop the member
          o[k] = this.chance(0.3) ? walk(x, depth + 1) : x;
        }
        return o;
      }
      return v;
    };
    const text = JSON.stringify(walk(value, 0));
    return this.chance(0.15) ? text.slice(0, this.int(text.length + 1)) : text;
  }

  /** Token-id text (one sequence per line) with bad tokens mixed in, or a JSON form of it. */
  ids(valid: readonly (readonly number[])[]): string {
    const bad = this.chance(0.6) ? 0 : 0.03;
    const token = (x: number): string =>
      this.chance(bad)
        ? this.pick(['-1', '1e9', '1000000000', '4294967301', 'abc', '1.5', '0x1', '', '\u00a0', '99999999999999999999'])
        : String(x);
    if (this.chance(0.2)) return this.mutateJson(valid.map((s) => [...s]));
    const lines = valid.filter(() => !this.chance(0.05)).map((s) => s.map(token).join(this.pick([' ', '\t', '  '])));
    return this.chance(0.05) ? '' : lines.join(this.pick(['\n', '\r\n', '\n\n']));
  }
}
