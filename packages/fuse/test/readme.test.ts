/**
 * The README's example, run as written: this file holds it between the markers, and the test
 * checks that packages/fuse/README.md contains the same lines (so the README stays true).
 */
import { beforeAll, expect, it } from 'vitest';
// README-IMPORTS-START
import { Tower, Trainer } from '@zipper/core';
import { ASR, TTS, TaskMixture, Zipper, freezePrefixes, fusedGradients, generateZipped } from '@zipper/fuse';
// README-IMPORTS-END
import { setup } from './helpers.js';
import { expectReadmeHolds } from './readme-snippets.js';

beforeAll(setup);

it('README example runs: zip two towers, fine-tune on ASR + TTS pairs, decode, add a third tower', async () => {
  // README-EXAMPLE-START
  // Two pretrained towers (here: fresh ones; use loadTowerEntry(dir, { name, bos, eos }) for saved ones).
  const text = Tower.create({ vocabSize: 13, dModel: 12, nLayers: 2, nHeads: 2 }, { seed: 1 });
  const speech = Tower.create({ vocabSize: 11, dModel: 8, nLayers: 3, nHeads: 2 }, { seed: 2 });
  const zipper = Zipper.create(
    [
      { name: 'text', tower: text, bos: 11, eos: 12 },
      { name: 'speech', tower: speech, bos: 9, eos: 10 },
    ],
    { schedule: { intervals: { text: 1, speech: 1 } }, freeze: ['text'] }, // text block n <-> speech block n
    { seed: 0 },
  );

  // Aligned pairs (content ids, no bos/eos), mixed 1 : 1.26 into ASR and TTS examples.
  const pairs = [
    { text: [1, 2, 3], speech: [4, 4, 5, 6, 6, 7] },
    { text: [4, 5], speech: [2, 3, 3, 8] },
  ];
  const data = new TaskMixture(zipper.config, pairs, {
    batchSize: 2,
    seed: 0,
    tasks: [
      { task: ASR, weight: 1 },
      { task: TTS, weight: 1.26 },
    ],
  });
  const trainer = new Trainer(zipper, data, {
    strategy: fusedGradients(zipper), // one loss stream per tower: `text`, `speech`
    freezePrefixes: freezePrefixes(zipper), // towers.text.*
    schedule: { peakLr: 1e-2, minLr: 1e-2, warmupSteps: 0, totalSteps: 100 },
  });
  const steps = await trainer.train(60);
  console.log(steps[0]!.streams, steps.at(-1)!.streams); // per-stream loss and target count

  // ASR: speech in, text out (greedy; temperature/topK/topP/seed as in core's generate).
  const asr = await generateZipped(zipper, [[{ tower: 'speech', ids: [9, 4, 4, 5, 6, 6, 7, 10] }]], { output: ['text'], maxNewTokens: 8 });
  console.log(JSON.stringify(asr.rows[0]));

  // A third tower joins: the text<->speech weights stay as they are, only the new ones train.
  const image = Tower.create({ vocabSize: 7, dModel: 16, nLayers: 2, nHeads: 4 }, { seed: 3 });
  const { model: three, newKeys } = zipper.addTower({ name: 'image', tower: image, bos: 5, eos: 6 }, [
    { to: 'text', toLayer: 2, from: 'image', fromLayer: 2 },
    { to: 'image', toLayer: 1, from: 'text', fromLayer: 1 },
  ]);
  const only = new Set(newKeys);
  const next = new Trainer(
    three,
    new TaskMixture(three.config, [{ text: [1, 2], image: [0, 3, 4] }], {
      batchSize: 1,
      tasks: [{ task: { inputs: ['image'], output: 'text' }, weight: 1 }],
    }),
    {
      strategy: fusedGradients(three),
      trainable: (key) => only.has(key),
    },
  );
  await next.train(2);
  trainer.dispose();
  next.dispose();
  three.dispose();
  // README-EXAMPLE-END
  const mean = (xs: { loss: number }[]) => xs.reduce((a, x) => a + x.loss, 0) / xs.length;
  console.log(
    `README example: mean loss of steps 1-10 ${mean(steps.slice(0, 10)).toFixed(3)}, of steps 51-60 ${mean(steps.slice(50)).toFixed(3)}`,
  );
  expect(mean(steps.slice(50))).toBeLessThan(0.5 * mean(steps.slice(0, 10)));
  expect(asr.rows[0]![0]!.tower).toBe('text');

  expectReadmeHolds(import.meta.url, new URL('../README.md', import.meta.url), [
    { name: 'README-IMPORTS' },
    { name: 'README-EXAMPLE', indent: 2 },
  ]);
});
