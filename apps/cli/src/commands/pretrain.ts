/**
 * `zipper pretrain text|speech`: pretrain a lone tower on a data build (`zipper data build`) with
 * a preset recipe: progress bar, periodic held-out loss, atomic checkpoints, exact --resume after
 * a kill at any moment, and a loss plot (OUT/loss.svg) updated at every checkpoint.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DataParallelGradients, defaultDataParallelWorkers, evaluateLoss, initBackend, type Tower } from '@zipper/core';
import { buildRef, evalBatches, trainBatches } from '@zipper/data';
import { DataDir } from '@zipper/data/node';
import { intArg, modalityArg, numArg, packageNameArg, parse, readInputFile, seedArg } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { checkpointPackageName, PACKAGE_DIR, withPackageName, writeCheckpointPackage } from '../pretrain/package.js';
import { prepareData } from '../pretrain/prepare.js';
import { PRETRAIN_PRESETS, pretrainPreset, type Modality } from '../pretrain/presets.js';
import { PRETRAIN_RUN_FORMAT, PRETRAIN_RUN_VERSION, readPretrainRun, type PretrainRun, type WordLmRecord } from '../pretrain/run-file.js';
import { bestRunFile, runSession, TOTAL, TRAIN_DIR } from '../training/session.js';
import { ZipperError } from '@zipper/common';
import { sha256Hex, writeFileAtomicSync } from '@zipper/common/node';
import { WORD_LM_FILE, WordLm } from '@zipper/text';

const USAGE = `usage:
  zipper pretrain text|speech --data DIR --preset NAME --out DIR [--steps N] [--seed 0]
                  [--keep-best total] [--workers N] [--minutes M] [--speech-tokenizer DIR] [--name NAME]
                  [--lm FILE] [--no-progress]
  zipper pretrain text|speech --out DIR --resume [--data DIR] [--workers N] [--minutes M] [--until-step N]
                  [--name NAME] [--lm FILE]

text:   trains a byte-level BPE on DIR/text-only.txt (vocabulary size from the preset), then the
        tower on <bos> sentence <eos> documents; held-out loss on the dev split's transcripts.
speech: the speech-only split's audio -> units with the speech tokenizer (default: the one in
        @zipper/speech), <bos> units <eos> per utterance, every voice; held-out loss on the last
        2% of speech-only (in manifest order). Units are cached in DIR/.cache/units.
Presets: ${Object.entries(PRETRAIN_PRESETS.text)
  .map(([k]) => k)
  .join(', ')} (docs/pretrain.md: sizes, budget, measured tokens/s).
Writes OUT/run.json (the command, seed, preset, data build sha256, tokenizer), OUT/tokenizer/,
OUT/train/step-N/ (checkpoints), OUT/loss.jsonl, OUT/loss.svg (train + held-out loss vs tokens),
OUT/sessions.jsonl (wall time and tokens/s per invocation) and, when done, OUT/tower/ (load the
model with TextTower.load(OUT) / SpeechTower.load(OUT)).
--resume continues from the newest checkpoint, exactly (kill the run at any moment and resume).
--minutes M stops after M minutes with a checkpoint (train in chunks). --until-step N stops at
step N (a multiple of the checkpoint interval, or any step) without changing the schedule, and writes
OUT/tower/ and OUT/package/ as of that step: a release taken part-way through the run, reproduced by
the run's command with the same --until-step. --keep-best total keeps OUT/best/, the run as of its
lowest held-out loss past step 0 so far (run.json with \`best\` and the command + --until-step STEP
that reproduces it, tower/, tokenizer/, package/, loss.jsonl, sessions.jsonl, loss.svg).
--name NAME: the checkpoint package's npm name (default @zipper/checkpoint-<modality>-<preset>; give
another when the tower differs from the published one of that name, e.g. another speech tokenizer).
It does not change the training: with --resume it renames the run's package (run.json and its command
record it), and --resume of a finished run writes OUT/tower/ and OUT/package/ again under the name.
--lm FILE (text): a word LM from zipper lm build (e.g. of DATA/text-only.txt) that the checkpoint package
ships as lm.safetensors, where zipper transcribe, zipper eval asr --decoder lexicon and the web page find
it; kept in the run as OUT/lm.safetensors (run.json records its sha256) and, like --name, not part of the
training: --resume --lm adds or replaces it, and a finished run's package is written again with it.
--workers N: data-parallel
worker threads (default 1 on 2+ cores); the losses of different worker counts differ in float
summation order, so resume with the same count for a bit-identical curve.`;

const OPTIONS = {
  data: { type: 'string' },
  preset: { type: 'string' },
  out: { type: 'string' },
  steps: { type: 'string' },
  seed: { type: 'string' },
  workers: { type: 'string' },
  minutes: { type: 'string' },
  'until-step': { type: 'string' },
  'speech-tokenizer': { type: 'string' },
  'keep-best': { type: 'string' },
  name: { type: 'string' },
  lm: { type: 'string' },
  resume: { type: 'boolean', default: false },
  'no-progress': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Options that shape the run itself: refused with --resume (run.json has them). */
const RUN_OPTIONS = ['preset', 'steps', 'seed', 'speech-tokenizer', 'keep-best'] as const;

export const pretrain: Command = {
  name: 'pretrain',
  summary: 'pretrain a text or speech tower on a data build (progress, held-out loss, checkpoints, exact --resume, loss plot)',
  async run(argv) {
    const { values: v, positionals } = parse(argv, OPTIONS, USAGE, { positionals: true });
    if (v.help) {
      console.log(USAGE);
      return 0;
    }
    const modality = modalityArg(positionals, USAGE);
    if (!v.out) throw new UsageError(`--out DIR is required\n\n${USAGE}`);
    const out = path.resolve(v.out);
    const runFile = path.join(out, 'run.json');
    const log = (s: string) => void process.stderr.write(`${s}\n`);
    const maxSeconds = v.minutes === undefined ? undefined : numArg(v.minutes, 'minutes', 0) * 60;
    const untilStep = v['until-step'] === undefined ? undefined : intArg(v['until-step'], 'until-step', 0, 1);
    const packageName = v.name === undefined ? undefined : packageNameArg(v.name);
    // checked before anything is written; copied into the run with its run.json
    const wordLm = v.lm === undefined ? undefined : readWordLmArg(v.lm, modality);

    let run: PretrainRun | undefined;
    if (v.resume) {
      const refused = RUN_OPTIONS.filter((k) => v[k] !== undefined);
      if (refused.length > 0)
        throw new UsageError(
          `--resume continues the run in ${out} with the options in its run.json; ${refused.map((k) => `--${k}`).join(', ')} cannot change on resume`,
        );
      if (!existsSync(runFile)) throw new UsageError(`--resume: no run.json in ${out}; start the run without --resume first`);
      run = readPretrainRun(runFile);
      if (run.modality !== modality) throw new UsageError(`${out} holds a ${run.modality} run, not ${modality}`);
      if (packageName !== undefined && packageName !== checkpointPackageName(run)) {
        log(`checkpoint package renamed: ${checkpointPackageName(run)} -> ${packageName} (run.json and its command record it)`);
        run = { ...run, packageName, command: withPackageName(run.command, packageName) };
        writeFileAtomicSync(runFile, `${JSON.stringify(run, null, 2)}\n`);
      }
      if (wordLm && wordLm.record.sha256 !== run.wordLm?.sha256) {
        log(
          `word LM ${run.wordLm ? 'replaced' : 'added'}: ${v.lm} (sha256 ${wordLm.record.sha256.slice(0, 12)}...), shipped as the package's ${WORD_LM_FILE}`,
        );
        writeFileAtomicSync(path.join(out, WORD_LM_FILE), wordLm.bytes);
        run = { ...run, wordLm: wordLm.record };
        writeFileAtomicSync(runFile, `${JSON.stringify(run, null, 2)}\n`);
      }
    } else {
      if (!v.data) throw new UsageError(`--data DIR is required (the --out of zipper data build)\n\n${USAGE}`);
      if (!v.preset)
        throw new UsageError(`--preset NAME is required: one of ${Object.keys(PRETRAIN_PRESETS[modality]).join(', ')}\n\n${USAGE}`);
      if (existsSync(path.join(out, TRAIN_DIR)) || existsSync(runFile))
        throw new UsageError(`${out} already holds a run; pass --resume to continue it, or choose another --out`);
    }
    const dataDir = path.resolve(v.data ?? run!.data.dir);
    const data = DataDir.open(dataDir);
    if (run && data.buildSha256 !== run.data.buildSha256) {
      throw new UsageError(
        `${dataDir}/build.json (sha256 ${data.buildSha256.slice(0, 12)}...) is not the data build this run trained on (${run.data.buildSha256.slice(0, 12)}...); pass --data with that build`,
      );
    }
    const presetName = run?.preset ?? v.preset!;
    const base = run?.config ?? pretrainPreset(modality as Modality, presetName);
    const preset = run ? base : { ...base, steps: intArg(v.steps, 'steps', base.steps, 1) };
    const seed = run?.seed ?? seedArg(v.seed);
    if (!run && v['keep-best'] !== undefined && v['keep-best'] !== TOTAL)
      throw new UsageError(`--keep-best: a tower has one held-out loss; pass --keep-best ${TOTAL}, got "${v['keep-best']}"`);
    const keepBest = run ? run.keepBest !== undefined : v['keep-best'] !== undefined;
    if (untilStep !== undefined && untilStep > preset.steps)
      throw new UsageError(`--until-step ${untilStep} is past the run's ${preset.steps} steps; leave it out to train to the end`);

    const info = await initBackend();
    const workers = v.workers === undefined ? defaultDataParallelWorkers(info) : intArg(v.workers, 'workers', 0);
    mkdirSync(out, { recursive: true });
    const prepared = await prepareData(modality, data, preset, {
      out,
      ...(run ? { resume: run.tokenizer } : {}),
      ...(v['speech-tokenizer'] ? { speechTokenizer: v['speech-tokenizer'] } : {}),
      log,
    });
    const tokensPerStep = preset.batchSize * preset.seqLen;
    const tower: Tower = prepared.createTower(seed);
    try {
      const parameters = [...tower.params.values()].reduce((n, p) => n + p.size, 0);
      const heldOut = evalBatches(prepared.heldOut, preset.batchSize, preset.seqLen);
      if (keepBest && heldOut.length === 0)
        throw new UsageError('--keep-best chooses by the held-out loss, but the data has no held-out split');
      if (!run) {
        const command = [
          'zipper pretrain',
          modality,
          '--data',
          dataDir,
          '--preset',
          presetName,
          '--out',
          out,
          '--seed',
          String(seed),
          ...(v.steps !== undefined ? ['--steps', String(preset.steps)] : []),
          ...(v['speech-tokenizer'] ? ['--speech-tokenizer', path.resolve(v['speech-tokenizer'])] : []),
          ...(keepBest ? ['--keep-best', TOTAL] : []),
          ...(packageName ? ['--name', packageName] : []),
          '--workers',
          String(workers),
        ].join(' ');
        run = {
          format: PRETRAIN_RUN_FORMAT,
          version: PRETRAIN_RUN_VERSION,
          command,
          modality,
          preset: presetName,
          config: preset,
          seed,
          data: buildRef(dataDir, data.build, data.buildSha256),
          tokenizer: prepared.tokenizer,
          counts: prepared.counts,
          tokensPerStep,
          parameters,
          ...(keepBest ? { keepBest: TOTAL } : {}),
          ...(packageName ? { packageName } : {}),
          ...(wordLm ? { wordLm: wordLm.record } : {}),
          createdAt: new Date().toISOString(),
        };
        if (wordLm) writeFileAtomicSync(path.join(out, WORD_LM_FILE), wordLm.bytes);
        writeFileSync(runFile, `${JSON.stringify(run, null, 2)}\n`);
      }
      const epochTokens = prepared.counts.trainTokens;
      log(
        `${modality} tower ${presetName}: ${parameters.toLocaleString('en-US')} parameters; ${preset.steps} steps x ${tokensPerStep} tokens = ${(preset.steps * tokensPerStep).toLocaleString('en-US')} tokens = ${((preset.steps * tokensPerStep) / epochTokens).toFixed(2)} epochs of ${epochTokens.toLocaleString('en-US')}; workers ${workers}`,
      );
      const model = tower;
      const pretrainRun = run;
      /** DIR/tower (+ tokenizer), DIR/package as of `step` (the model as it is now); `untilStep`: a stop before the end. */
      const release = async (dir: string, r: PretrainRun, step: number, heldOutLoss: number | undefined, stop: number | undefined) => {
        const metadata = {
          pretrain: {
            modality,
            preset: presetName,
            seed,
            steps: step,
            tokens: step * tokensPerStep,
            heldOutLoss: heldOutLoss ?? null,
            dataBuildSha256: data.buildSha256,
          },
        };
        await prepared.saveModel(tower, dir, metadata);
        const pkg = path.join(dir, PACKAGE_DIR);
        await prepared.saveModel(tower, pkg, metadata);
        writeCheckpointPackage(dir, pkg, r, '0.1.0', { step, untilStep: stop, runDir: out });
      };
      const result = await runSession({
        out,
        model,
        data: trainBatches(prepared.train, { batchSize: preset.batchSize, seqLen: preset.seqLen, seed }),
        ...(heldOut.length > 0 ? { heldOut: () => evaluateLoss(model, heldOut) } : {}),
        parallel: (n) => new DataParallelGradients(model, { workers: n }),
        trainer: {
          schedule: {
            peakLr: preset.peakLr,
            minLr: preset.minLr,
            warmupSteps: Math.min(preset.warmup, preset.steps),
            totalSteps: preset.steps,
          },
          optimizer: { weightDecay: preset.weightDecay },
          maxGradNorm: preset.clip,
        },
        totalSteps: preset.steps,
        every: preset.every,
        keep: preset.keep,
        evalEvery: preset.evalEvery,
        workers,
        resume: v.resume,
        ...(maxSeconds !== undefined ? { maxSeconds } : {}),
        ...(untilStep !== undefined ? { untilStep } : {}),
        title: `zipper pretrain ${modality} --preset ${presetName} (seed ${seed})`,
        progress: !v['no-progress'],
        log,
        ...(keepBest
          ? {
              best: {
                by: TOTAL,
                save: async (b, dir) => {
                  writeFileAtomicSync(path.join(dir, 'run.json'), `${JSON.stringify(bestRunFile(pretrainRun, b), null, 2)}\n`);
                  await release(dir, pretrainRun, b.step, b.heldOut, b.step);
                },
              },
            }
          : {}),
      });
      if (result.finished || result.step === untilStep) {
        await release(out, run, result.step, result.lastHeldOut, untilStep);
        log(`saved ${path.join(out, 'tower')} (+ tokenizer) after ${result.step} steps`);
        log(`checkpoint package ${checkpointPackageName(run)} in ${path.join(out, PACKAGE_DIR)}`);
      }
      console.log(
        JSON.stringify({
          modality,
          preset: presetName,
          step: result.step,
          steps: preset.steps,
          finished: result.finished,
          tokens: result.step * tokensPerStep,
          epochs: +((result.step * tokensPerStep) / epochTokens).toFixed(3),
          loss: result.lastLoss,
          heldOutLoss: result.lastHeldOut ?? null,
          sessionSeconds: +result.sessionSeconds.toFixed(1),
          tokensPerSecond: Math.round(result.tokensPerSecond),
          out,
        }),
      );
    } finally {
      tower.dispose();
    }
    return 0;
  },
};

/** `--lm FILE`: a text tower's word LM, read and decoded (UsageError if it is not one, or for a speech tower). */
function readWordLmArg(file: string, modality: string): { bytes: Uint8Array; record: WordLmRecord } {
  if (modality !== 'text') throw new UsageError('--lm is for text towers: a word LM for lexicon decoding ships with the text tower');
  const bytes = readInputFile(file, '--lm');
  let lm: WordLm;
  try {
    lm = WordLm.decode(bytes, `--lm ${file}`);
  } catch (e) {
    if (e instanceof ZipperError)
      throw new UsageError(`${(e as Error).message} (build one with zipper lm build --text DATA/text-only.txt --out FILE)`);
    throw e;
  }
  return {
    bytes,
    record: { sha256: sha256Hex(bytes), bytes: bytes.length, order: lm.order, words: lm.words.length, dictionary: lm.dictionary.length },
  };
}
