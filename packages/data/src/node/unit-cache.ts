/**
 * On-disk cache of unit sequences, so a second epoch (or a second run) does not featurize audio
 * again. Keyed by the audio's SHA-256 and the speech tokenizer's hash:
 *
 *   <root>/<tokenizer sha256, 16 hex>/<audio sha256, first 2 hex>/<audio sha256>.units
 *
 * A file is the 4 bytes "ZUN1", the unit count (uint32 LE), then the units (uint16 LE). Files are
 * written to a temporary sibling and renamed into place; a file that fails to parse (a torn write
 * by some other tool) counts as a miss and is rewritten.
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '@zipper/common/node';
import { DataConfigError } from '../errors.js';

const MAGIC = 0x314e555a; // "ZUN1" little-endian
const HEX64 = /^[0-9a-f]{64}$/;

export class UnitCache {
  /** Directory of this tokenizer's entries. */
  readonly dir: string;

  constructor(
    readonly root: string,
    readonly tokenizerSha256: string,
  ) {
    if (!HEX64.test(tokenizerSha256)) throw new DataConfigError(`UnitCache tokenizerSha256 must be 64 hex digits, got ${JSON.stringify(tokenizerSha256)}`);
    this.dir = path.join(path.resolve(root), tokenizerSha256.slice(0, 16));
  }

  fileOf(audioSha256: string): string {
    if (!HEX64.test(audioSha256)) throw new DataConfigError(`audio sha256 must be 64 hex digits, got ${JSON.stringify(audioSha256)}`);
    return path.join(this.dir, audioSha256.slice(0, 2), `${audioSha256}.units`);
  }

  /** The cached units, or undefined (absent or unreadable). */
  get(audioSha256: string): Uint16Array | undefined {
    const file = this.fileOf(audioSha256);
    if (!existsSync(file)) return undefined;
    const b = readFileSync(file);
    if (b.length < 8) return undefined;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const n = view.getUint32(4, true);
    if (view.getUint32(0, true) !== MAGIC || b.length !== 8 + 2 * n) return undefined;
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getUint16(8 + 2 * i, true);
    return out;
  }

  put(audioSha256: string, units: Uint16Array): void {
    const file = this.fileOf(audioSha256);
    const b = Buffer.alloc(8 + 2 * units.length);
    b.writeUInt32LE(MAGIC, 0);
    b.writeUInt32LE(units.length, 4);
    for (let i = 0; i < units.length; i++) b.writeUInt16LE(units[i]!, 8 + 2 * i);
    writeFileAtomicSync(file, b, { fsync: false }); // a torn or emptied file is a miss (see get)
  }
}
