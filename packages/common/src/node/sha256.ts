/** SHA-256 (Node's crypto): of bytes and strings, and of a file's contents, as lowercase hex. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** SHA-256 digest of the concatenation of `parts` (strings are hashed as UTF-8). */
export function sha256(...parts: readonly (Uint8Array | string)[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** `sha256(...parts)` as 64 lowercase hex digits. */
export function sha256Hex(...parts: readonly (Uint8Array | string)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** SHA-256 of a file's bytes as hex, streamed (the file is never held in memory whole). */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}
