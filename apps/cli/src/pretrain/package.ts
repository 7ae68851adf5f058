/**
 * A finished pretraining run as an installable checkpoint package, `OUT/package/`:
 *
 *   package.json   `@zipper/checkpoint-<modality>-<preset>` (or the run's --name), files: tower,
 *                  tokenizer, card, plot (and lm.safetensors); peer: the @zipper/text or
 *                  @zipper/speech that wrote it, or later
 *   README.md      a model card in the Hugging Face hub's style: front matter (library, task,
 *                  datasets, license, tags), then the command, data, steps, tokens, epochs, wall
 *                  time, seed, held-out loss and the loss plot
 *   tower/         the tower (safetensors weights + config), tokenizer/  its tokenizer
 *   lm.safetensors a text tower's word LM for lexicon decoding, where the run has one (--lm FILE)
 *   loss.svg, run.json
 *
 * `TextTower.load('@zipper/checkpoint-text-small')` (or SpeechTower) loads it by name once
 * installed, or by path. Copy the folder to packages/checkpoints/<modality>-<preset> to ship it.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isHeldOut, type LossPoint } from '../progress/index.js';
import { LOSS_LOG, LOSS_PLOT, SESSIONS_LOG, untilStepCommand, type SessionRecord } from '../training/session.js';
import { libraryVersion, packageDir, portable } from '../training/portable.js';
import { defaultSpeechTokenizerDir } from './prepare.js';
import type { PretrainRun } from './run-file.js';
import { buildArgs, buildName } from '@zipper/data';
import { CheckpointError } from '@zipper/core';
import { sha256Hex } from '@zipper/common/node';
import { WORD_LM_FILE } from '@zipper/text';

export const PACKAGE_DIR = 'package';

/** The run's `--name`, else `@zipper/checkpoint-<modality>-<preset>`. */
export function checkpointPackageName(run: Pick<PretrainRun, 'modality' | 'preset' | 'packageName'>): string {
  return run.packageName ?? `@zipper/checkpoint-${run.modality}-${run.preset}`;
}

/** `command` with `--name NAME` (replacing the one it has): the run's command once its package is renamed. */
export function withPackageName(command: string, name: string): string {
  const words = command.split(' ');
  const at = words.indexOf('--name');
  if (at < 0) return `${command} --name ${name}`;
  words[at + 1] = name;
  return words.join(' ');
}

/**
 * Writes package.json, README.md, loss.svg and run.json into `dir` (the tower is saved there by the
 * caller), from the run files in `out`; `release.runDir`: the run's --out as its files name it, when
 * `out` is elsewhere (OUT/best/ written in a temp directory), so its paths print as OUT too.
 */
export function writeCheckpointPackage(
  out: string,
  dir: string,
  run: PretrainRun,
  version: string,
  release: { readonly step: number; readonly untilStep?: number | undefined; readonly runDir?: string },
): void {
  mkdirSync(dir, { recursive: true });
  const losses = JSON.parse(`[${readFileSync(path.join(out, LOSS_LOG), 'utf8').trimEnd().split('\n').join(',')}]`) as LossPoint[];
  const held = losses.filter(isHeldOut);
  const train = losses.filter((p) => !isHeldOut(p)) as { step: number; loss: number }[];
  const sessionsFile = path.join(out, SESSIONS_LOG);
  const sessions: SessionRecord[] = existsSync(sessionsFile)
    ? readFileSync(sessionsFile, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as SessionRecord)
    : [];
  const wall = sessions.reduce((s, x) => s + x.seconds, 0);
  const killed = sessions.filter((x) => x.ended === 'killed').length;
  const recordedSteps = sessions.reduce((s, x) => s + Math.max(0, Math.min(x.toStep, release.step) - x.fromStep), 0);
  const steps = release.step;
  const tokens = steps * run.tokensPerStep;
  const command = release.untilStep === undefined ? run.command : untilStepCommand(run.command, release.untilStep);
  const name = checkpointPackageName(run);
  const last = held[held.length - 1];
  const best = held.reduce<(typeof held)[number] | undefined>((b, p) => (!b || p.heldOut < b.heldOut ? p : b), undefined);
  const meanLast = (n: number) => train.slice(-n).reduce((s, p) => s + p.loss, 0) / Math.min(n, train.length);
  // the run's word LM (--lm), checked against its record: the package ships what run.json names
  if (run.wordLm) {
    const lmFile = path.join(release.runDir ?? out, WORD_LM_FILE);
    const bytes = existsSync(lmFile) ? readFileSync(lmFile) : undefined;
    if (!bytes || sha256Hex(bytes) !== run.wordLm.sha256)
      throw new CheckpointError(
        `${lmFile}: ${bytes ? 'not the word LM run.json records' : 'missing'} (sha256 ${run.wordLm.sha256.slice(0, 12)}...); give it again with --resume --lm FILE`,
      );
    writeFileSync(path.join(dir, WORD_LM_FILE), bytes);
  }
  const library = run.modality === 'text' ? '@zipper/text' : '@zipper/speech';
  writeFileSync(
    path.join(dir, 'package.json'),
    `${JSON.stringify(
      {
        name,
        version,
        description: `Zipper ${run.modality} tower (${run.preset}), pretrained with \`zipper pretrain ${run.modality}\`: weights, config, tokenizer, model card`,
        license: 'Apache-2.0',
        files: ['tower', 'tokenizer', ...(run.wordLm ? [WORD_LM_FILE] : []), 'README.md', 'loss.svg', 'run.json'],
        keywords: ['zipper', 'checkpoint', run.modality],
        peerDependencies: { [library]: `>=${libraryVersion(library)}` },
      },
      null,
      2,
    )}\n`,
  );
  copyFileSync(path.join(out, LOSS_PLOT), path.join(dir, 'loss.svg'));
  const speechPackage = packageDir('@zipper/speech');
  // a speech tokenizer of its own (--speech-tokenizer DIR, not @zipper/speech's): the package's tokenizer/ is a copy
  const source = run.tokenizer.source;
  const ownTokenizer = source !== undefined && source !== defaultSpeechTokenizerDir() ? source : undefined;
  const machine = {
    [run.data.dir]: 'DATA',
    [release.runDir ?? out]: 'OUT',
    ...(speechPackage ? { [speechPackage]: '@zipper/speech' } : {}),
    ...(ownTokenizer ? { [ownTokenizer]: 'TOKENIZER' } : {}),
  };
  writeFileSync(path.join(dir, 'run.json'), portable(readFileSync(path.join(out, 'run.json'), 'utf8'), machine));
  const loader = run.modality === 'text' ? 'TextTower' : 'SpeechTower';
  const card = [
    '---',
    'library_name: zipper',
    `pipeline_tag: ${run.modality === 'text' ? 'text-generation' : 'audio-to-audio'}`,
    'license: apache-2.0',
    'datasets:',
    `- ${buildName(run.data)}`,
    'tags:',
    '- zipper',
    '- tensorflow.js',
    `- ${run.modality}`,
    '---',
    '',
    `# ${name}`,
    '',
    `A ${run.modality} tower of Zipper (decoder-only, pretrained alone by next-token prediction), preset \`${run.preset}\`:`,
    `d ${run.config.shape.dModel}, ${run.config.shape.nLayers} layers, ${run.config.shape.nHeads} heads, vocabulary ${run.tokenizer.vocabSize} (${run.tokenizer.kind}), ${run.parameters.toLocaleString('en-US')} parameters.`,
    '',
    '```ts',
    `import { ${loader} } from '@zipper/${run.modality}';`,
    `const model = await ${loader}.load('${name}'); // or a path to this folder`,
    '```',
    '',
    '## Training',
    '',
    '```sh',
    command,
    '```',
    '',
    `\`DATA\`: the data build below (\`zipper data build --out DATA ...\`); \`OUT\`: a new run folder${
      ownTokenizer
        ? `; \`TOKENIZER\`: this package's \`tokenizer/\` folder (the speech tokenizer it trained with, sha256 \`${run.tokenizer.sha256}\`)`
        : ''
    }.`,
    '',
    '| | |',
    '|---|---|',
    `| data | \`zipper data build ${buildArgs(run.data)}\`, build.json sha256 \`${run.data.buildSha256}\` |`,
    `| training data | ${run.counts.trainItems.toLocaleString('en-US')} ${run.modality === 'text' ? 'text-only sentences' : 'speech-only utterances'}, ${run.counts.trainTokens.toLocaleString('en-US')} tokens |`,
    `| held out | ${run.counts.heldOutItems.toLocaleString('en-US')} ${run.modality === 'text' ? 'dev sentences' : 'speech-only utterances (the last 2% of the manifest)'}, ${run.counts.heldOutTokens.toLocaleString('en-US')} tokens |`,
    `| steps | ${steps.toLocaleString('en-US')}${steps < run.config.steps ? ` of the ${run.config.steps.toLocaleString('en-US')}-step schedule (stopped with --until-step; the learning rate had not reached its minimum)` : ''} x ${run.tokensPerStep.toLocaleString('en-US')} tokens (seq ${run.config.seqLen} x batch ${run.config.batchSize}) |`,
    `| tokens seen | ${tokens.toLocaleString('en-US')} = ${(tokens / run.counts.trainTokens).toFixed(2)} epochs |`,
    `| optimizer | AdamW, lr ${run.config.peakLr} -> ${run.config.minLr} (cosine, warmup ${run.config.warmup}), weight decay ${run.config.weightDecay}, clip ${run.config.clip} |`,
    `| seed | ${run.seed} |`,
    `| wall time | ${(wall / 60).toFixed(1)} min over ${sessions.length} session(s)${killed > 0 ? ` (${killed} killed, counted to their last checkpoint)` : ''}, covering ${recordedSteps.toLocaleString('en-US')} of the ${steps.toLocaleString('en-US')} steps (sessions.jsonl of the run)${recordedSteps < steps ? '; the other steps ran in sessions killed before their time was recorded (runs from before 2026-12-02)' : ''} |`,
    `| training loss | ${meanLast(50).toFixed(4)} nats/token (mean of the last ${Math.min(50, train.length)} steps) |`,
    `| held-out loss | ${last ? `${last.heldOut.toFixed(4)} at the end (perplexity ${Math.exp(last.heldOut).toFixed(2)})` : 'n/a'}${best ? `; best ${best.heldOut.toFixed(4)} at step ${best.step}` : ''} |`,
    '',
    '![training and held-out loss against tokens seen](loss.svg)',
    '',
    ...(run.wordLm
      ? [
          `## Word LM for lexicon decoding (\`${WORD_LM_FILE}\`)`,
          '',
          `A word ${run.wordLm.order === 3 ? 'trigram' : 'bigram'} LM (\`zipper lm build\`, given with \`--lm\`): ${run.wordLm.words.toLocaleString('en-US')} words${run.wordLm.dictionary > 0 ? ` and a dictionary of ${run.wordLm.dictionary.toLocaleString('en-US')} more` : ''}, ${run.wordLm.bytes.toLocaleString('en-US')} bytes, sha256 \`${run.wordLm.sha256}\`.`,
          'A zipped model over this tower with a CTC head decodes with it (`zipper transcribe`, `zipper eval asr --decoder lexicon`, the web page). It is not the tower: the weights do not depend on it.',
          '',
        ]
      : []),
    'Rebuild: run the command above on the same data build (same Debian package versions) and the',
    'same engine; with the same seed and worker count the weights are bit-identical (the tests rebuild a tiny one).',
    '',
  ];
  writeFileSync(path.join(dir, 'README.md'), portable(card.join('\n'), machine));
}
