/**
 * The loss curve of a training run as a standalone SVG: training loss (bucket means, at most 600
 * points) and held-out loss (dots joined by a line) against training tokens seen. A log with
 * per-stream losses (`streams`) gets one training and one held-out curve per stream instead.
 */
import { writeFileAtomicSync } from '@zipper/common/node';
import { isHeldOut, type LossPoint } from './loss-log.js';

export interface LossPlotOptions {
  readonly title: string;
  readonly width?: number;
  readonly height?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** 1, 2 or 5 times a power of ten, about (max - min) / 5 apart. */
function ticks(min: number, max: number): number[] {
  const span = max - min || 1;
  const raw = span / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9 * span; v += step) out.push(+v.toPrecision(12));
  return out;
}

function tokensLabel(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toPrecision(3)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toPrecision(3)}k`;
  return String(n);
}

/** Means of consecutive buckets so that at most `max` points remain. */
function buckets(points: readonly { tokens: number; loss: number }[], max: number): { tokens: number; loss: number }[] {
  if (points.length <= max) return [...points];
  const size = Math.ceil(points.length / max);
  const out: { tokens: number; loss: number }[] = [];
  for (let i = 0; i < points.length; i += size) {
    const b = points.slice(i, i + size);
    out.push({ tokens: b[b.length - 1]!.tokens, loss: b.reduce((s, p) => s + p.loss, 0) / b.length });
  }
  return out;
}

interface Series {
  readonly label: string;
  readonly color: string;
  readonly points: readonly { tokens: number; loss: number }[];
  /** Held-out series: dots joined by a line. */
  readonly dots: boolean;
}

const STREAM_COLORS = [
  ['#1f77b4', '#d62728'],
  ['#2ca02c', '#9467bd'],
  ['#ff7f0e', '#8c564b'],
  ['#17becf', '#e377c2'],
];

/** The curves of a log: train + held-out, or per stream when the points carry streams. */
function seriesOf(points: readonly LossPoint[]): Series[] {
  const names = [...new Set(points.flatMap((p) => Object.keys(p.streams ?? {})))];
  if (names.length === 0) {
    return [
      {
        label: 'train',
        color: '#1f77b4',
        dots: false,
        points: buckets(
          points.filter((p) => !isHeldOut(p)).map((p) => ({ tokens: p.tokens, loss: (p as { loss: number }).loss })),
          600,
        ),
      },
      {
        label: 'held-out',
        color: '#d62728',
        dots: true,
        points: points.filter(isHeldOut).map((p) => ({ tokens: p.tokens, loss: p.heldOut })),
      },
    ];
  }
  // a stream only one side has (noisy_text: a second held-out set) gets no empty curve in the legend
  return names
    .flatMap((n, i) => {
      const [train, held] = STREAM_COLORS[i % STREAM_COLORS.length]!;
      const of = (held: boolean) =>
        points
          .filter((p) => isHeldOut(p) === held && p.streams?.[n] !== undefined)
          .map((p) => ({ tokens: p.tokens, loss: p.streams![n]! }));
      return [
        { label: `${n} train`, color: train!, dots: false, points: buckets(of(false), 600) },
        { label: `${n} held-out`, color: held!, dots: true, points: of(true) },
      ];
    })
    .filter((x) => x.points.length > 0);
}

export function renderLossSvg(points: readonly LossPoint[], o: LossPlotOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 420;
  const m = { left: 64, right: 20, top: 36, bottom: 52 };
  const series = seriesOf(points);
  const all = series.flatMap((x) => x.points);
  const xMax = Math.max(1, ...all.map((p) => p.tokens));
  const ys = all.map((p) => p.loss).filter(Number.isFinite);
  const yMin = ys.length ? Math.min(...ys) : 0;
  const yMax = ys.length ? Math.max(...ys) : 1;
  const pad = (yMax - yMin) * 0.05 || 0.5;
  const [y0, y1] = [Math.max(0, yMin - pad), yMax + pad];
  const X = (t: number) => m.left + (t / xMax) * (W - m.left - m.right);
  const Y = (l: number) => m.top + (1 - (l - y0) / (y1 - y0)) * (H - m.top - m.bottom);
  const line = (ps: readonly { tokens: number; loss: number }[]) =>
    ps.map((p) => `${X(p.tokens).toFixed(1)},${Y(p.loss).toFixed(1)}`).join(' ');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(o.title)}</text>`,
  ];
  for (const t of ticks(y0, y1)) {
    parts.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`);
  }
  for (const t of ticks(0, xMax)) {
    parts.push(`<line x1="${X(t).toFixed(1)}" x2="${X(t).toFixed(1)}" y1="${m.top}" y2="${H - m.bottom}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${X(t).toFixed(1)}" y="${H - m.bottom + 16}" text-anchor="middle">${tokensLabel(t)}</text>`);
  }
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${W - m.left - m.right}" height="${H - m.top - m.bottom}" fill="none" stroke="#999"/>`,
  );
  parts.push(`<text x="${(m.left + W - m.right) / 2}" y="${H - 12}" text-anchor="middle">training tokens seen</text>`);
  parts.push(`<text transform="translate(16 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">loss (nats / token)</text>`);
  for (const x of series) {
    if (x.points.length) parts.push(`<polyline fill="none" stroke="${x.color}" stroke-width="1.5" points="${line(x.points)}"/>`);
    if (x.dots)
      for (const p of x.points)
        parts.push(`<circle cx="${X(p.tokens).toFixed(1)}" cy="${Y(p.loss).toFixed(1)}" r="2.5" fill="${x.color}"/>`);
  }
  series.forEach((x, i) => {
    const lastPoint = x.points[x.points.length - 1];
    const y = m.top + 14 + 18 * i;
    const label = `${x.label}${lastPoint ? ` (last ${lastPoint.loss.toFixed(3)})` : ''}`;
    parts.push(
      `<line x1="${W - 250}" x2="${W - 230}" y1="${y}" y2="${y}" stroke="${x.color}" stroke-width="2"/><text x="${W - 225}" y="${y + 4}">${esc(label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** Writes the plot through a temporary sibling renamed over `file` (no fsync: it is redrawn from loss.jsonl). */
export function writeLossSvg(file: string, points: readonly LossPoint[], o: LossPlotOptions): void {
  writeFileAtomicSync(file, renderLossSvg(points, o), { fsync: false });
}
