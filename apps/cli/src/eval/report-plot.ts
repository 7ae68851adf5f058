/**
 * WER against aligned fraction as a standalone SVG: log x axis (1%, 10%, 100% of the aligned
 * pairs), one colour per model configuration, a line style per series kind (e.g. test-clean
 * solid, test-other dashed), reference rows (pocketsphinx, the oracle) as horizontal lines.
 * Same input, same bytes (fixed formatting, no dates).
 */

export interface PlotSeries {
  readonly label: string;
  /** Index into the palette (one per model configuration). */
  readonly color: number;
  readonly dashed: boolean;
  /** (percent of aligned pairs, WER) sorted by percent. */
  readonly points: readonly (readonly [number, number])[];
}

export interface PlotLine {
  readonly label: string;
  readonly value: number;
  readonly dashed: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf', '#e377c2'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f1 = (x: number) => x.toFixed(1);

/** Legend text width estimate at 12 px sans-serif (px per character, generous for capitals). */
const CHAR_PX = 6.8;

export function renderWerPlot(title: string, series: readonly PlotSeries[], lines: readonly PlotLine[]): string {
  // the plot keeps its size; the picture widens so the longest legend label fits beside it
  const plotRight = 470;
  const labels = [...lines.map((l) => `${l.label} (${l.value.toFixed(3)})`), ...series.map((s) => s.label)];
  const legendWidth = 12 + 26 + Math.ceil(Math.max(0, ...labels.map((l) => l.length)) * CHAR_PX) + 12;
  const W = Math.max(720, plotRight + legendWidth);
  const H = 440;
  const m = { left: 64, right: W - plotRight, top: 36, bottom: 52 };
  const values = [...series.flatMap((s) => s.points.map((p) => p[1])), ...lines.map((l) => l.value)].filter(Number.isFinite);
  const yMax = Math.max(1, Math.ceil(Math.max(0, ...values) * 10) / 10);
  const [lx0, lx1] = [Math.log10(0.5), Math.log10(200)];
  const X = (pct: number) => m.left + ((Math.log10(pct) - lx0) / (lx1 - lx0)) * (W - m.left - m.right);
  const Y = (w: number) => m.top + (1 - Math.min(w, yMax) / yMax) * (H - m.top - m.bottom);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${(m.left + W - m.right) / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  const step = yMax > 2 ? 0.5 : yMax > 1 ? 0.2 : 0.1;
  for (let i = 0; i * step <= yMax + 1e-9; i++) {
    const t = +(i * step).toFixed(2);
    parts.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${f1(Y(t))}" y2="${f1(Y(t))}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${f1(Y(t) + 4)}" text-anchor="end">${t.toFixed(1)}</text>`);
  }
  for (const p of [1, 10, 100]) {
    parts.push(`<line x1="${f1(X(p))}" x2="${f1(X(p))}" y1="${m.top}" y2="${H - m.bottom}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${f1(X(p))}" y="${H - m.bottom + 16}" text-anchor="middle">${p}%</text>`);
  }
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${W - m.left - m.right}" height="${H - m.top - m.bottom}" fill="none" stroke="#999"/>`,
  );
  parts.push(`<text x="${(m.left + W - m.right) / 2}" y="${H - 12}" text-anchor="middle">aligned pairs used (percent, log scale)</text>`);
  parts.push(`<text transform="translate(16 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">WER</text>`);
  if (series.length === 0 && lines.length === 0)
    parts.push(`<text x="${(m.left + W - m.right) / 2}" y="${H / 2}" text-anchor="middle" fill="#999">no evaluations found</text>`);
  const legend: string[] = [];
  lines.forEach((l) => {
    const dash = l.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${f1(Y(l.value))}" y2="${f1(Y(l.value))}" stroke="#555"${dash}/>`);
    legend.push(
      `<line x1="0" x2="20" y1="0" y2="0" stroke="#555"${dash} stroke-width="2"/><text x="26" y="4">${esc(`${l.label} (${l.value.toFixed(3)})`)}</text>`,
    );
  });
  for (const s of series) {
    const color = PALETTE[s.color % PALETTE.length]!;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    if (pts.length > 1)
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="1.8"${dash} points="${pts.map((p) => `${f1(X(p[0]))},${f1(Y(p[1]))}`).join(' ')}"/>`,
      );
    for (const p of pts) parts.push(`<circle cx="${f1(X(p[0]))}" cy="${f1(Y(p[1]))}" r="3" fill="${color}"/>`);
    legend.push(`<line x1="0" x2="20" y1="0" y2="0" stroke="${color}"${dash} stroke-width="2"/><text x="26" y="4">${esc(s.label)}</text>`);
  }
  legend.forEach((l, i) => parts.push(`<g transform="translate(${W - m.right + 12} ${m.top + 10 + 18 * i})">${l}</g>`));
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
