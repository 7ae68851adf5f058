/**
 * SHA-256 through the Web Crypto API (`globalThis.crypto.subtle`), which browsers (secure
 * contexts: https and http://localhost) and Node >= 19 both provide: the browser-safe hash that
 * model loaders verify checkpoints with. (Node code that needs it synchronously uses
 * `sha256Hex` of `@zipper/common/node`; both give the same digest.)
 */
import { ZipperError } from './errors.js';

/** Bytes or a string (hashed as UTF-8), or a list of them (hashed as their concatenation). */
export type Sha256AsyncInput = Uint8Array | string | readonly (Uint8Array | string)[];

interface SubtleDigest {
  digest(algorithm: 'SHA-256', data: Uint8Array): Promise<ArrayBuffer>;
}

function concat(data: Sha256AsyncInput): Uint8Array {
  const parts = (typeof data === 'string' || data instanceof Uint8Array ? [data] : data).map((p) =>
    typeof p === 'string' ? new TextEncoder().encode(p) : p,
  );
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** SHA-256 of `data` as 64 lowercase hex digits. */
export async function sha256HexAsync(data: Sha256AsyncInput): Promise<string> {
  const subtle = (globalThis as unknown as { crypto?: { subtle?: SubtleDigest } }).crypto?.subtle;
  if (!subtle)
    throw new ZipperError(
      'no Web Crypto here (globalThis.crypto.subtle): use Node >= 20, or serve the page over https or http://localhost (a secure context)',
    );
  const digest = new Uint8Array(await subtle.digest('SHA-256', concat(data)));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}
