/**
 * renderWerPlot (the report's WER-against-fraction SVG): the plot area keeps its place and size
 * whatever the labels, and the picture widens so the longest legend label fits beside it (the
 * shipped model's label is ~150 characters); the same input gives the same bytes.
 */
import { describe, expect, it } from 'vitest';
import { renderWerPlot } from '../src/eval/report-plot.js';

const width = (svg: string) => Number(/^<svg [^>]*width="(\d+(?:\.\d+)?)"/.exec(svg)![1]);
const tickX = (svg: string, label: string) =>
  Number(new RegExp(`<text x="([\\d.]+)" y="[\\d.]+" text-anchor="middle">${label}</text>`).exec(svg)![1]);

describe('renderWerPlot', () => {
  it('widens for a long legend label, keeping the plot area; same input, same bytes', () => {
    const series = (label: string) => [
      {
        label,
        color: 0,
        dashed: false,
        points: [
          [1, 1.1],
          [100, 0.9],
        ] as [number, number][],
      },
    ];
    const lines = [{ label: 'pocketsphinx, test-clean', value: 0.609, dashed: false }];
    const short = renderWerPlot('ASR', series('single decoder, test-clean'), lines);
    const long =
      'zipper, frozen: text; towers at 0.1x lr; CTC 0.3 (bytes, 2-block encoder); zero-output, gates 1; align prior 1; cross-rope; ASR audio asr,tts, test-clean';
    const wide = renderWerPlot('ASR', series(long), lines);
    expect(width(short)).toBeGreaterThanOrEqual(720);
    expect(width(short)).toBeGreaterThanOrEqual(470 + 38 + 'pocketsphinx, test-clean (0.609)'.length * 6.8); // its longest label
    expect(width(wide)).toBeGreaterThanOrEqual(470 + 38 + long.length * 6.8);
    for (const t of ['1%', '10%', '100%']) expect(tickX(wide, t)).toBe(tickX(short, t));
    expect(wide).toContain(`<text x="26" y="4">${long}</text>`);
    expect(renderWerPlot('ASR', series(long), lines)).toBe(wide);
  });
});
