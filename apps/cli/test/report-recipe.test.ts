// How the report, the release's package description and its card name a zipped run's recipe
// (recipeExtras / labelOf, and the card's first line, purpose): the shipped package's run.json gives the label its card starts with.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { labelOf, recipeExtras } from '../src/eval/report-runs.js';
import { purpose } from '../src/fuse/release.js';
import type { FuseRun } from '../src/fuse/run-file.js';

const shipped = JSON.parse(
  readFileSync(new URL('../../../packages/checkpoints/zipper-small/run.json', import.meta.url), 'utf8'),
) as FuseRun;
const withScale = (towerLrScale: number | undefined): FuseRun => ({
  ...shipped,
  tasks: ['asr', 'tts'],
  recipe: { ...shipped.recipe, ...(towerLrScale === undefined ? { towerLrScale: undefined } : { towerLrScale }) },
});

describe('recipeExtras', () => {
  it('names the towers learning-rate scale: held fixed at 0, a multiple otherwise, nothing when absent', () => {
    expect(recipeExtras(withScale(0))[0]).toBe('unfrozen towers held fixed (0x lr)');
    expect(recipeExtras(withScale(0.1))[0]).toBe('towers at 0.1x lr');
    expect(recipeExtras(withScale(undefined))[0]).toBe('CTC 1 (bytes, 2-block encoder)');
  });

  it('names a run of one task (the shipped release: its last stage trained on ASR examples only), nothing for both', () => {
    expect(recipeExtras(shipped)[0]).toBe('ASR examples only');
    expect(recipeExtras({ ...shipped, tasks: ['tts'] })[0]).toBe('TTS examples only');
    expect(recipeExtras({ ...shipped, tasks: ['asr', 'tts'] })).not.toContain('ASR examples only');
    expect(recipeExtras({ ...shipped, tasks: ['asr', 'tts'] })[0]).toBe('unfrozen towers held fixed (0x lr)');
  });

  it("the card's first line: both tasks, one task alone, or one task as a warm start's last stage", () => {
    expect(purpose({ tasks: ['asr', 'tts'] }, 1)).toBe('for speech recognition and synthesis');
    expect(purpose({ tasks: ['tts'] }, 1)).toBe('for speech synthesis');
    expect(purpose({ tasks: ['asr'] }, 1)).toBe('for speech recognition');
    expect(purpose({ tasks: ['tts'] }, 3)).toBe('in 3 stages (the commands below), the last on TTS examples only');
    // the shipped release: four training stages, then `zipper fuse interpolate --alpha 0.75` (the fifth command)
    expect(shipped.interpolate?.alpha).toBe(0.75);
    expect(purpose(shipped, shipped.lineage!.commands.length)).toBe(
      'in 4 stages (the commands below), the last on ASR examples only, then interpolated: 0.25 x the weights the last stage started from + 0.75 x its own (the last command)',
    );
    expect(purpose({ tasks: ['asr', 'tts'], interpolate: { ...shipped.interpolate!, alpha: 0.7 } }, 2)).toBe(
      'for speech recognition and synthesis, then interpolated: 0.3 x the weights the last stage started from + 0.7 x its own (the last command)',
    );
  });

  it('names gates reopened on a warm start (--reopen-gates X) and held (--freeze-gates) after the initial ones', () => {
    const reopened: FuseRun = { ...shipped, model: { ...shipped.model, reopenGates: 1, freezeGates: true } };
    expect(recipeExtras(reopened)).toContain('zero-output, gates 1, reopened at 1 (frozen)');
    const free: FuseRun = { ...shipped, model: { ...shipped.model, reopenGates: undefined, freezeGates: false } };
    expect(recipeExtras(free)).toContain('zero-output, gates 1');
    const plain: FuseRun = {
      ...shipped,
      model: { ...shipped.model, zeroOutput: false, crossGate: 0, reopenGates: 0.5, freezeGates: false },
    };
    expect(recipeExtras(plain)).toContain('gates reopened at 0.5');
  });

  it('names cross positions, and the text counted by bytes (--cross-rope-bytes)', () => {
    expect(recipeExtras(shipped)).toContain('cross-rope');
    const crossRope = [
      { to: 'text', from: 'speech', rate: 10.7 },
      { to: 'speech', from: 'text', rate: 1 / 10.7, sourceWeights: [1, 0.27, 0.55] },
    ];
    const bytes: FuseRun = { ...shipped, model: { ...shipped.model, crossRope } };
    expect(recipeExtras(bytes)).toContain('cross-rope, text by bytes');
    expect(recipeExtras(bytes)).not.toContain('cross-rope');
  });

  it("labels the shipped package's run as its model card does", () => {
    const card = readFileSync(new URL('../../../packages/checkpoints/zipper-small/README.md', import.meta.url), 'utf8');
    expect(card).toContain(`A Zipper model (${labelOf(shipped)})`);
    expect(labelOf(shipped)).toBe(
      'zipper, frozen: text; ASR examples only; unfrozen towers held fixed (0x lr); CTC 1 (bytes, 2-block encoder); zero-output, gates 1, reopened at 1 (frozen); held: cross.speech_from_text., inproj.text., inproj.speech.; align prior 1; cross-rope; ASR audio asr,tts,noisy',
    );
  });
});
