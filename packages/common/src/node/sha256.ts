/** SHA-256 (Node's crypto): of bytes and strings, and of a file's contents, as lowercase hex. */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Bytes or a string (hashed as UTF-8), or a list of them (hashed as their concatenation). */
export type Sha256Input = Uint8Array | string | readonly (Uint8Array | string)[];

function hashOf(data: Sha256Input): Hash {
  const h = createHash('sha256');
  if (typeof data === 'string' || data instanceof Uint8Array) h.update(data);
  else for (const part of data) h.update(part);
  return h;
}

/** SHA-256 digest of `data` (one argument, so `list.map(sha256)` hashes each element). */
export function sha256(data: Sha256Input): Uint8Array {
  return new Uint8Array(hashOf(data).digest());
}

/** `sha256(data)` as 64 lowercase hex digits. */
export function sha256Hex(data: Sha256Input): string {
  return hashOf(data).digest('hex');
}

/** SHA-256 of a file's bytes as hex, streamed (the file is never held in memory whole). */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}
