/**
 * GPT-2's reversible byte <-> printable-character table (HF `ByteLevel`), and UTF-8 helpers.
 *
 * Every byte 0..255 maps to one printable code point: the 188 printable Latin-1 bytes map to
 * themselves, the other 68 to U+0100.. in byte order. Token strings in tokenizer.json are written
 * in these characters (a space is `Ġ`, a newline `Ċ`).
 */

/** `BYTE_TO_CHAR[b]` is the byte-level character (a one-code-unit string) for byte `b`. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** Code unit of a byte-level character -> its byte; -1 for characters outside the alphabet. */
const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(0x200).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => {
    t[c.charCodeAt(0)] = b;
  });
  return t;
})();

function buildByteToChar(): string[] {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  return out;
}

/** The byte of a byte-level character (given as its UTF-16 code unit), or -1. */
export function byteOfChar(code: number): number {
  return code < 0x200 ? CHAR_TO_BYTE[code]! : -1;
}

/** Byte-level string of raw bytes (what the pre-tokenizer emits, and how vocab keys are spelled). */
export function bytesToByteLevel(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += BYTE_TO_CHAR[bytes[i]!];
  return s;
}

/**
 * Bytes of a token string as the HF ByteLevel decoder sees it: if every character is in the
 * byte-level alphabet, those bytes; otherwise (e.g. a special token such as `<|ünk|>`) the token's
 * own UTF-8 bytes.
 */
export function tokenBytes(token: string): Uint8Array {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = byteOfChar(token.charCodeAt(i));
    if (b < 0) return utf8Encode(token);
    out[i] = b;
  }
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** UTF-8 bytes; lone surrogates become U+FFFD (EF BF BD), as `TextEncoder` does. */
export function utf8Encode(s: string): Uint8Array {
  return encoder.encode(s);
}

/** UTF-8 decode; invalid sequences become U+FFFD per maximal subpart (same as Rust's from_utf8_lossy). */
export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
