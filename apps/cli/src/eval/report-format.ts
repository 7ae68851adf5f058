/** How `zipper eval report` writes numbers and table rows (Markdown), one place for every section. */

/** A WER or loss to 3 decimals; '' when not measured, 'inf' when infinite (metrics.json's null: KeptRatio). */
export const f3 = (x: number | null | undefined): string =>
  x === undefined ? '' : x !== null && Number.isFinite(x) ? x.toFixed(3) : 'inf';

/** A count with thousands separators (1,234). */
export const intl = (n: number): string => n.toLocaleString('en-US');

/** A Markdown table row. */
export const row = (cells: readonly (string | number)[]): string => `| ${cells.join(' | ')} |`;

/** A transcript in a table cell: in quotes, cut to `max` characters, its pipes escaped; `(empty)` for an empty one. */
export const quoted = (text: string, max = 80): string =>
  text ? `"${(text.length > max ? `${text.slice(0, max - 1)}…` : text).replace(/\|/g, '\\|')}"` : '(empty)';
