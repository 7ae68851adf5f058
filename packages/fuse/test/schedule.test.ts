import { ConfigError } from '@zipper/core';
import { describe, expect, it } from 'vitest';
import { everyNthSchedule, linkKey, resolveFusionSchedule } from '../src/index.js';

const text = { name: 'text', nLayers: 12, dModel: 64 };
const speech = { name: 'speech', nLayers: 8, dModel: 32 };

describe('fusion schedule', () => {
  it('places n * i_X layers in both directions (paper §3)', () => {
    const s = everyNthSchedule([text, speech], 4);
    expect(s.links.filter((l) => l.to === 'text').map((l) => [l.toLayer, l.fromLayer])).toEqual([[3, 2], [6, 4], [9, 6], [12, 8]]);
    expect(s.links.filter((l) => l.to === 'speech').map((l) => [l.toLayer, l.fromLayer])).toEqual([[2, 3], [4, 6], [6, 9], [8, 12]]);
    expect(linkKey(s.links[0]!)).toBe('cross.text_to_speech.2');
  });

  it('generalizes to N towers: every ordered pair gets its links', () => {
    const s = everyNthSchedule([text, speech, { name: 'image', nLayers: 4, dModel: 16 }], 2);
    expect(s.links).toHaveLength(3 * 2 * 2);
  });

  it('rejects broken schedules naming the invariant', () => {
    expect(() => everyNthSchedule([text, speech], 3)).toThrow(/nLayers 8 is not a multiple of 3/);
    expect(() => everyNthSchedule([text], 1)).toThrow(ConfigError);
    expect(() => resolveFusionSchedule({ towers: [text, speech], links: [{ to: 'text', toLayer: 13, from: 'speech', fromLayer: 1 }] })).toThrow(/toLayer 13 outside 1..12/);
    expect(() => resolveFusionSchedule({ towers: [text, speech], links: [{ to: 'text', toLayer: 1, from: 'video', fromLayer: 1 }] })).toThrow(/"video"/);
    expect(() => resolveFusionSchedule({ towers: [text, { ...text }], links: [] })).toThrow(/appears twice/);
  });

  it('does not mutate its input', () => {
    const input = { towers: [text, speech], links: [{ to: 'text', toLayer: 6, from: 'speech', fromLayer: 4 }, { to: 'speech', toLayer: 2, from: 'text', fromLayer: 3 }] };
    const copy = JSON.parse(JSON.stringify(input));
    resolveFusionSchedule(input);
    expect(input).toEqual(copy);
  });
});
