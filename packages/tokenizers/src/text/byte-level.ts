/**
 * GPT-2's reversible byte <-> printable-character table (HF `ByteLevel`), and UTF-8 helpers.
 *
 * Every byte 0..255 maps to one printable code point: the 188 printable Latin-1 bytes map to
 * themselves, the other 68 to U+0100.. in byte order. Token strings in tokenizer.json are written
 * in these characters (a space is `Ġ`, a newline `Ċ`).
 */
import { TextEncodingError } from '../errors.js';

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

const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Offset of the first byte of `bytes` that starts an invalid or truncated UTF-8 sequence
 * (overlong forms, surrogates and code points above U+10FFFF are invalid), or -1 if all is valid.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let i = 0; i < n;) {
    const c = bytes[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0)
        lo = 0xa0; // no overlong 3-byte forms
      else if (c === 0xed) hi = 0x9f; // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0)
        lo = 0x90; // no overlong 4-byte forms
      else if (c === 0xf4) hi = 0x8f; // nothing above U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      const x = i + k < n ? bytes[i + k]! : -1;
      if (x < (k === 1 ? lo : 0x80) || x > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return -1;
}

/**
 * UTF-8 decode that refuses invalid input instead of turning it into U+FFFD (which `encode` would
 * then tokenize as three bytes nobody wrote): throws `TextEncodingError` naming the byte offset.
 * A byte-order mark is kept, as Node's `Buffer.toString('utf8')` keeps it. `source` names the input.
 */
export function utf8DecodeStrict(bytes: Uint8Array, source = 'input'): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const shown = Array.from(bytes.subarray(at, at + 4), (b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ');
    throw new TextEncodingError(
      at,
      `${source} is not valid UTF-8: byte offset ${at} (${shown}) does not start a valid UTF-8 character; convert the text to UTF-8 first (e.g. iconv -f latin1 -t utf-8)`,
    );
  }
}
