/**
 * `zipper demo`: the engine end to end on the embedded default backend, no downloads.
 * Trains a byte-level BPE tokenizer and a tiny text tower on a bundled public-domain sample
 * (Genesis 1-11, KJV) for a few seconds, reports held-out loss before and after, generates,
 * and saves the tower with its tokenizer.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchIterator, initBackend, Trainer, ZipperError } from '@zipper/core';
import { TextTower } from '@zipper/text';
import { trainBpe } from '@zipper/tokenizers';
import { intArg, numArg, parse, seedArg } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { runSpeechDemo } from '../apps/round-trip.js';

const USAGE = `usage: zipper demo speech [options]     the speech round trip (npm run demo; zipper demo speech --help)
       zipper demo [text] [--seconds 20] [--steps N] [--vocab 512] [--seed 0] [--out runs/demo]
  text: trains a tiny text tower on a bundled sample (Genesis 1-11) for --seconds (or --steps),
  then generates from it and saves it (tower + tokenizer) to --out.`;

function samplePath(): string {
  // dist/bin.js and src/commands/demo.ts both sit two levels below apps/cli
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['..', '../..']) {
    const p = path.resolve(here, up, 'assets', 'genesis-1-11.txt');
    try {
      readFileSync(p);
      return p;
    } catch {
      // try the next candidate
    }
  }
  throw new ZipperError(
    'bundled sample assets/genesis-1-11.txt not found next to the zipper CLI; reinstall it (the file is part of apps/cli)',
  );
}

export const demo: Command = {
  name: 'demo',
  summary: 'demo speech: speak a sentence and transcribe it (npm run demo); demo [text]: train a tiny text tower for a few seconds',
  async run(args) {
    if (args[0] === 'speech') return runSpeechDemo(args.slice(1));
    const argv = args[0] === 'text' ? args.slice(1) : args;
    const { values } = parse(
      argv,
      {
        seconds: { type: 'string' },
        steps: { type: 'string' },
        vocab: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean' },
      },
      USAGE,
    );
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const seconds = numArg(values.seconds, 'seconds', 20);
    if (seconds > 86_400) throw new UsageError(`--seconds must be at most 86400 (a day), got "${values.seconds}"`);
    const maxSteps = intArg(values.steps, 'steps', 0);
    const seed = seedArg(values.seed);
    const out = values.out ?? 'runs/demo';
    const log = (s: string) => process.stderr.write(s + '\n');

    const info = await initBackend();
    log(`backend ${info.backend} (${info.provider}), threads ${info.threads}`);
    const verses = readFileSync(samplePath(), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    const heldOut = verses.filter((_, i) => i % 20 === 19);
    const train = verses.filter((_, i) => i % 20 !== 19);

    let t0 = performance.now();
    const tokenizer = trainBpe(train, { vocabSize: intArg(values.vocab, 'vocab', 512, 260) });
    log(`BPE: ${tokenizer.vocabSize} tokens trained on ${train.length} verses in ${((performance.now() - t0) / 1000).toFixed(2)} s`);

    const model = TextTower.create(tokenizer, { dModel: 128, nLayers: 2, nHeads: 4, maxSeqLen: 256 }, { seed });
    const stream = train.flatMap((v) => model.encodeDocument(v));
    const data = new BatchIterator([stream], { batchSize: 8, seqLen: 64, seed });
    const heldLoss = () => heldOut.reduce((s, v) => s + model.loss(v), 0) / heldOut.length;
    const before = heldLoss();
    const plannedSteps = maxSteps || 10_000;
    const totalSteps = maxSteps || Math.max(50, Math.round(seconds * 4));
    const trainer = new Trainer(model.tower, data, {
      // warmup: 10 steps, or a fifth of a shorter run (`--steps 5` warms up for 1 step)
      schedule: { peakLr: 3e-3, minLr: 3e-4, warmupSteps: Math.min(10, Math.floor(totalSteps / 5)), totalSteps },
      optimizer: { weightDecay: 0.01 },
    });
    t0 = performance.now();
    let last = { step: 0, loss: NaN, tokensPerSecond: 0 };
    while (last.step < plannedSteps && (maxSteps > 0 || performance.now() - t0 < seconds * 1000)) {
      last = await trainer.trainStep();
      if (last.step % 10 === 0 || last.step === 1)
        log(`step ${last.step}  loss ${last.loss.toFixed(3)}  ${Math.round(last.tokensPerSecond)} tokens/s`);
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    const after = heldLoss();
    log(`held-out loss ${before.toFixed(3)} -> ${after.toFixed(3)} nats/token after ${last.step} steps in ${trainSeconds.toFixed(1)} s`);

    const prompt = 'And God said';
    const greedy = await model.complete(prompt, { maxNewTokens: 40 });
    const sampled = await model.complete(prompt, { maxNewTokens: 40, temperature: 0.8, topP: 0.9, seed });
    console.log(`greedy:  ${prompt}${greedy.text}`);
    console.log(`sampled: ${prompt}${sampled.text}`);
    await model.save(out);
    log(`saved tower + tokenizer to ${out}`);
    console.log(
      JSON.stringify({
        backend: info.backend,
        threads: info.threads,
        steps: last.step,
        train_seconds: +trainSeconds.toFixed(2),
        tokens_per_s: Math.round((last.step * 8 * 64) / trainSeconds),
        heldout_loss_before: +before.toFixed(4),
        heldout_loss_after: +after.toFixed(4),
        saved: out,
      }),
    );
    model.dispose();
    trainer.dispose();
    return 0;
  },
};
