import { ConfigError } from '@zipper/core';
import { describe, expect, it } from 'vitest';
import { everyNthSchedule, intervalSchedule, linkKey, resolveFusionSchedule, resolveZipperConfig } from '../src/index.js';

const text = { name: 'text', nLayers: 12, dModel: 64 };
const speech = { name: 'speech', nLayers: 8, dModel: 32 };

describe('fusion schedule', () => {
  it('places n * i_X layers in both directions (paper §3)', () => {
    const s = everyNthSchedule([text, speech], 4);
    expect(s.links.filter((l) => l.to === 'text').map((l) => [l.toLayer, l.fromLayer])).toEqual([
      [3, 2],
      [6, 4],
      [9, 6],
      [12, 8],
    ]);
    expect(s.links.filter((l) => l.to === 'speech').map((l) => [l.toLayer, l.fromLayer])).toEqual([
      [2, 3],
      [4, 6],
      [6, 9],
      [8, 12],
    ]);
    expect(linkKey(s.links[0]!)).toBe('cross.speech_from_text.2');
  });

  it('generalizes to N towers: every ordered pair gets its links', () => {
    const s = everyNthSchedule([text, speech, { name: 'image', nLayers: 4, dModel: 16 }], 2);
    expect(s.links).toHaveLength(3 * 2 * 2);
  });

  it('rejects broken schedules naming the invariant', () => {
    expect(() => everyNthSchedule([text, speech], 3)).toThrow(/nLayers 8 is not a multiple of 3/);
    expect(() => everyNthSchedule([text], 1)).toThrow(ConfigError);
    expect(() =>
      resolveFusionSchedule({ towers: [text, speech], links: [{ to: 'text', toLayer: 13, from: 'speech', fromLayer: 1 }] }),
    ).toThrow(/toLayer 13 outside 1..12/);
    expect(() =>
      resolveFusionSchedule({ towers: [text, speech], links: [{ to: 'text', toLayer: 1, from: 'video', fromLayer: 1 }] }),
    ).toThrow(/"video"/);
    expect(() => resolveFusionSchedule({ towers: [text, { ...text }], links: [] })).toThrow(/appears twice/);
  });

  it('takes one interval per tower (i_A != i_B): n * i_X reads n * i_Y while both exist', () => {
    const s = intervalSchedule([text, speech], { text: 4, speech: 3 });
    expect(s.links.filter((l) => l.to === 'text').map((l) => [l.toLayer, l.fromLayer])).toEqual([
      [4, 3],
      [8, 6],
    ]);
    expect(s.links.filter((l) => l.to === 'speech').map((l) => [l.toLayer, l.fromLayer])).toEqual([
      [3, 4],
      [6, 8],
    ]);
    expect(() => intervalSchedule([text, speech], { text: 4 })).toThrow(/no interval for tower "speech"/);
    expect(() => intervalSchedule([text, speech], { text: 4, speech: 9 })).toThrow(/interval of tower "speech" must be an integer in 1..8/);
  });

  it('refuses links that form a dependency cycle, naming it', () => {
    // text after block 1 reads speech block 2, which needs speech after block 1, which reads text block 2
    const links = [
      { to: 'text', toLayer: 1, from: 'speech', fromLayer: 2 },
      { to: 'speech', toLayer: 1, from: 'text', fromLayer: 2 },
    ];
    expect(() => resolveFusionSchedule({ towers: [text, speech], links })).toThrow(/dependency cycle \(.*text block 2.*\)/);
    // reading the same depth both ways is fine (each reads the other's block output before its cross-attention)
    expect(() =>
      resolveFusionSchedule({
        towers: [text, speech],
        links: [
          { to: 'text', toLayer: 2, from: 'speech', fromLayer: 2 },
          { to: 'speech', toLayer: 2, from: 'text', fromLayer: 2 },
        ],
      }),
    ).not.toThrow();
  });

  it('a zipper config names the broken invariant', () => {
    const t = (name: string, nLayers = 2) => ({ name, config: { vocabSize: 13, dModel: 12, nLayers, nHeads: 2 }, bos: 11, eos: 12 });
    expect(() =>
      resolveZipperConfig({ towers: [t('text'), t('speech')], schedule: [{ to: 'text', toLayer: 3, from: 'speech', fromLayer: 1 }] }),
    ).toThrow(/toLayer 3 outside 1..2 \(tower "text" has 2 layers\)/);
    expect(() =>
      resolveZipperConfig({ towers: [t('text'), t('speech')], schedule: [{ to: 'text', toLayer: 1, from: 'speech', fromLayer: 5 }] }),
    ).toThrow(/fromLayer 5 outside 0..2/);
    expect(() =>
      resolveZipperConfig({ towers: [t('text'), t('speech')], schedule: [{ to: 'text', toLayer: 1, from: 'video', fromLayer: 1 }] }),
    ).toThrow(ConfigError);
    expect(() => resolveZipperConfig({ towers: [t('text'), t('speech')], schedule: { every: 1 }, freeze: ['video'] })).toThrow(
      /freeze names tower "video"/,
    );
    expect(() => resolveZipperConfig({ towers: [t('text'), { ...t('speech'), bos: 13 }], schedule: { every: 1 } })).toThrow(
      /tower "speech": bos 13 must be a token id in \[0, 13\)/,
    );
    expect(() => resolveZipperConfig({ towers: [t('text'), t('speech')], schedule: { every: 1 }, projectionLayers: 0 })).toThrow(
      /projectionLayers must be an integer >= 1/,
    );
    expect(() =>
      resolveZipperConfig({ towers: [t('text'), t('speech')], schedule: { every: 1 }, inputProjection: 'mlp' as never }),
    ).toThrow(/inputProjection must be/);
    expect(() => resolveZipperConfig({ towers: [t('text'), t('Speech')], schedule: { every: 1 } })).toThrow(/must match \[a-z\]/);
    const c = resolveZipperConfig({ towers: [t('text'), t('speech')], schedule: { every: 2 } });
    expect(c).toMatchObject({ inputProjection: 'gated', inputProjectionLayers: 2, projectionLayers: 3, freeze: [] });
    expect(c.schedule.links.map(linkKey)).toEqual([
      'cross.speech_from_text.1',
      'cross.speech_from_text.2',
      'cross.text_from_speech.1',
      'cross.text_from_speech.2',
    ]);
  });

  it('does not mutate its input', () => {
    const input = {
      towers: [text, speech],
      links: [
        { to: 'text', toLayer: 6, from: 'speech', fromLayer: 4 },
        { to: 'speech', toLayer: 2, from: 'text', fromLayer: 3 },
      ],
    };
    const copy = JSON.parse(JSON.stringify(input));
    resolveFusionSchedule(input);
    expect(input).toEqual(copy);
  });
});
