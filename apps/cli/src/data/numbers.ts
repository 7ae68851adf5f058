/** Spelling numbers as English words, for the text normalization rule (see normalize.ts). */

const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const SCALES = ['', 'thousand', 'million', 'billion', 'trillion'];

function below1000(n: number): string[] {
  const out: string[] = [];
  const h = Math.floor(n / 100);
  const r = n % 100;
  if (h > 0) out.push(ONES[h]!, 'hundred');
  if (r >= 20) {
    out.push(TENS[Math.floor(r / 10)]!);
    if (r % 10) out.push(ONES[r % 10]!);
  } else if (r > 0 || h === 0) out.push(ONES[r]!);
  return out;
}

/**
 * A string of decimal digits as words: "2024" -> "two thousand twenty four". Numbers of more than
 * 15 digits, and digit strings with a leading zero ("007"), are read digit by digit.
 */
export function spellDigits(digits: string): string {
  if (!/^\d+$/.test(digits)) throw new RangeError(`spellDigits expects decimal digits, got "${digits}"`);
  if (digits.length > 15 || (digits.length > 1 && digits.startsWith('0'))) {
    return [...digits].map((d) => ONES[Number(d)]!).join(' ');
  }
  let n = Number(digits);
  if (n === 0) return 'zero';
  const groups: string[][] = [];
  for (let scale = 0; n > 0; scale++, n = Math.floor(n / 1000)) {
    const g = n % 1000;
    if (g > 0) groups.unshift([...below1000(g), ...(SCALES[scale] ? [SCALES[scale]!] : [])]);
  }
  return groups.flat().join(' ');
}

const ORDINAL_IRREGULAR: Record<string, string> = { one: 'first', two: 'second', three: 'third', five: 'fifth', eight: 'eighth', nine: 'ninth', twelve: 'twelfth' };

/** "21" -> "twenty first"; used for "21st", "3rd", "12th". */
export function spellOrdinal(digits: string): string {
  const words = spellDigits(digits).split(' ');
  const last = words.pop()!;
  const ord = ORDINAL_IRREGULAR[last] ?? (last.endsWith('y') ? `${last.slice(0, -1)}ieth` : `${last}th`);
  return [...words, ord].join(' ');
}

/**
 * A year-like number read the usual way: 1100..1999 (and 2010..2099) in two pairs ("1611" ->
 * "sixteen eleven", "1900" -> "nineteen hundred"); other numbers as cardinals.
 */
export function spellNumber(digits: string): string {
  const n = Number(digits);
  if (digits.length === 4 && !digits.startsWith('0') && ((n >= 1100 && n <= 1999) || (n >= 2010 && n <= 2099))) {
    const hi = spellDigits(digits.slice(0, 2));
    const lo = Number(digits.slice(2));
    if (lo === 0) return `${hi} hundred`;
    return `${hi} ${lo < 10 ? `oh ${spellDigits(String(lo))}` : spellDigits(String(lo))}`;
  }
  return spellDigits(digits);
}

/** Plural of a spelled number's last word: "seventy" -> "seventies", "six" -> "sixes". */
export function pluralizeSpelled(words: string): string {
  const parts = words.split(' ');
  const last = parts.pop()!;
  const plural = last.endsWith('y') ? `${last.slice(0, -1)}ies` : /(x|s)$/.test(last) ? `${last}es` : `${last}s`;
  return [...parts, plural].join(' ');
}
