/**
 * `showValue`: a value as JSON spells it, for error messages about parsed files and options, so a
 * string "64" is not mistaken for the number 64: `64`, `"64" (a string)`, `null`,
 * `[1,2] (an array)`, `{"a":1} (an object)`. Long values are cut to 60 characters.
 */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const json = typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(value));
  const s = json.length > 60 ? `${json.slice(0, 57)}...` : json;
  if (typeof value === 'string') return `${s} (a string)`;
  if (Array.isArray(value)) return `${s} (an array)`;
  if (value !== null && typeof value === 'object') return `${s} (an object)`;
  return s;
}
