/**
 * `zipper fuse release`: a trained fused run (or single decoder) as an installable checkpoint
 * package, the way `zipper pretrain` writes the towers' (docs/fuse-cli.md, "Release"):
 *
 *   package.json  `@zipper/checkpoint-<name>`, depending on the exact tower package versions
 *   run.json      the run's (its towers by package name and sha256: loadTrainedModel resolves them)
 *   model/        the trained model in its release format, float16 by default (half the bytes)
 *   README.md     a model card in the Hugging Face hub's style: front matter, the towers, the
 *                 command, data, steps, tokens, wall time, seed, losses, the plot, and the
 *                 evaluation tables found in RUN/eval/SPLIT/{asr,tts}/metrics.json (+ --peer rows)
 *   loss.svg
 *
 * The weights are rewritten from the run's model/ (loaded, verified against the towers' sha256,
 * saved in --dtype) with the time that model was made (its `createdAt`), so the same run gives the
 * same bytes.
 *
 * A run trained on a tower folder is released once that folder is published as a checkpoint
 * package: `towers` names the package, which must hold the same weights and tokenizer (sha256);
 * run.json, model/zipper.json, package.json and the card then name it (`publishedTowers`).
 *
 * Only a finished run is released (unless `allowUnfinished`): its loss.jsonl reached the end of its
 * schedule (recipe.steps, or the `--until-step` it was released at). `--minutes` or a kill stops a
 * run early, and its weights are not the recipe's. OUT/best (--keep-best) is the best evaluation
 * so far of the run folder around it: final once that run has finished.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '@zipper/common/node';
import { readTowerCheckpointInfo } from '@zipper/core';
import {
  asrHead,
  canSearchLexicon,
  ctcHeadName,
  LEXICON_SEARCH_LABELS,
  lexiconSearchDifferences,
  lexiconSearchText,
  readZipperCheckpointInfo,
  resolveLexiconBeamOptions,
  TowerMismatchError,
  type LexiconSearchSettings,
  type ResolvedLexiconBeamOptions,
} from '@zipper/fuse';
import { LEXICON_SEARCH_FLAGS, lexiconSearchFlags, searchSettings } from '../apps/transcriber.js';
import { UsageError } from '../command.js';
import { evaluations, oneTaskLabel, readPeers, readRun, type KeptRatio, type Metrics, type RunSummary } from '../eval/report-runs.js';
import { libraryVersion, portable } from '../training/portable.js';
import { LOSS_PLOT } from '../training/session.js';
import type { PackageSource } from './init-from.js';
import { remainderOf } from './interpolate.js';
import { partsText, soupCard, soupText } from './soup.js';
import { unfinishedReason } from './finished.js';
import { MODEL_DIR, outOf, readFuseRun, type FuseRun, type Lineage } from './run-file.js';
import { loadTrainedModel } from './trained-model.js';
import { towerIdentity, type Modality, type TowerRef } from './towers.js';
import { BUILD_FILE, buildArgs, buildHasSplit, buildName, isAudioSplit, type BuildRef } from '@zipper/data';
import { DataDir } from '@zipper/data/node';

export interface ReleaseOptions {
  readonly run: string;
  readonly out: string;
  readonly name: string;
  readonly version: string;
  readonly dtype: 'float32' | 'float16';
  readonly peers: readonly string[];
  /** The run's command as released (e.g. with --until-step), if not run.json's. */
  readonly command?: string;
  /** The step the run was stopped at on purpose (--until-step): where its schedule ends for the release. */
  readonly untilStep?: number;
  /** Release a run stopped before the end of its schedule (its card says "steps N of M"). */
  readonly allowUnfinished?: boolean;
  /** Markdown placed in the card after its usage block (e.g. a "Limitations" section), verbatim. */
  readonly notes?: string;
  /** `--tower m=PACKAGE`: a checkpoint package holding the very tower the run trained on (its folder, published since). */
  readonly towers?: Partial<Record<Modality, string>>;
  /**
   * `--word-bonus ...`: lexicon search settings the package's CTC head carries (its model/zipper.json),
   * so the apps decode with them (chosen on dev); replaces what the run's head carried. Every
   * lexicon evaluation in RUN/eval must have been decoded with the package's settings.
   */
  readonly search?: LexiconSearchSettings;
}

/**
 * The lexicon evaluations of the run that decoded with other settings than `settings` (the
 * package's), as "SPLIT (word bonus -2 where the package has -1, ...)": a card must show what the
 * apps do. Evaluations that recorded no settings (before 2026-12-05) cannot be checked; those
 * recorded before the rescoring was a setting (2026-12-06) searched alone.
 */
export function searchMismatches(s: RunSummary, settings: ResolvedLexiconBeamOptions): string[] {
  return Object.entries(s.asrLexicon).flatMap(([split, m]) => {
    if (!m?.lexicon) return [];
    const got = resolveLexiconBeamOptions(m.lexicon);
    const differ = lexiconSearchDifferences(got, settings).map(
      (k) => `${LEXICON_SEARCH_LABELS[k]} ${got[k] ?? 'none'} where the package has ${settings[k] ?? 'none'}`,
    );
    return differ.length > 0 ? [`${split} (${differ.join(', ')})`] : [];
  });
}

/**
 * The run's towers as checkpoint packages: each `given` location must resolve to a package (a
 * name and a version) whose tower weights have the sha256 run.json recorded (the tokenizer's is
 * checked when the model loads); the others as recorded, each a package already.
 */
export async function publishedTowers(
  run: Pick<FuseRun, 'towers'>,
  runDir: string,
  given: Partial<Record<Modality, string>>,
): Promise<Record<Modality, TowerRef>> {
  const out = { ...run.towers } as Record<Modality, TowerRef>;
  for (const [m, location] of Object.entries(given) as [Modality, string][]) {
    const want = run.towers[m];
    const found = await towerIdentity(location);
    if (found.version === null)
      throw new UsageError(
        `--tower ${m}=${location}: ${found.dir} is not a checkpoint package (no package.json with a name and a version)`,
      );
    if (found.sha256 !== want.sha256)
      throw new TowerMismatchError(
        `--tower ${m}=${location}: ${found.name}@${found.version} has tower weights sha256 ${found.sha256}, but ${runDir} was trained on ${want.name} (${want.dir}) with sha256 ${want.sha256}`,
      );
    out[m] = { ...want, ...found };
  }
  for (const [m, t] of Object.entries(out))
    if (t.version === null)
      throw new UsageError(
        `the ${m} tower of ${runDir} is a directory (${t.location}), not a checkpoint package: a released model must name installable towers; pass --tower ${m}=PACKAGE (that folder published as a checkpoint package, e.g. \`zipper pretrain ${m} --out DIR --resume --name NAME\`), or train with --tower ${m}=@zipper/checkpoint-...`,
      );
  return out;
}

const f4 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(4));
const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${(100 * x).toFixed(1)}%`);

/**
 * "x1.27 (95% interval 1.16-1.42)": a TTS / oracle ratio as metrics.json keeps it, where a ratio
 * over an oracle that made no error is null (JSON has no Infinity).
 */
const ratioCell = (r: KeptRatio, prefix = '95% interval '): string => {
  const x = (v: number | null) => (v === null ? 'n/a' : v.toFixed(2));
  return r.ratio === null ? 'n/a (the oracle made no error)' : `x${x(r.ratio)} (${prefix}${x(r.low)}-${x(r.high)})`;
};

/** "; WER 95% interval 24.4%-30.8%" where the evaluation kept one (the bootstrap over utterances; TTS: of the mean over seeds). */
const within = (m: Metrics) => (m.interval ? `; WER 95% interval ${pct(m.interval.wer.low)}-${pct(m.interval.wer.high)}` : '');

/** `rescores`: the package's lexicon settings add the text tower's second pass (every lexicon evaluation used them: searchMismatches). */
function evalTables(s: RunSummary, peers: readonly Metrics[], rescores: boolean): string[] {
  const splits = [...new Set(evaluations(s).map((m) => m.split))];
  if (splits.length === 0) return ['No evaluation found in the run (`zipper eval asr|tts --out RUN/eval/SPLIT/asr|tts`).', ''];
  // a column per decoder evaluated on some split: the text tower, the CTC head greedily, its lexicon search
  const columns = (
    [
      ['this model (text tower decodes)', s.asr],
      ['its CTC head (`--decoder ctc`)', s.asrCtc],
      [`its CTC head + word LM${rescores ? ', rescored by the text tower' : ''} (\`--decoder lexicon\`, the apps' default)`, s.asrLexicon],
    ] as const
  ).filter(([, m], i) => i === 0 || Object.keys(m).length > 0);
  const lines = [
    '### Speech recognition, WER / CER against the gold text',
    '',
    `| split | utterances | ${columns.map(([name]) => name).join(' | ')} | pocketsphinx (same audio) |`,
    `|---|---|${columns.map(() => '---|').join('')}---|`,
  ];
  for (const split of splits) {
    const cells = columns.map(([, m]) => m[split as keyof typeof m]);
    const any = cells.find((c) => c !== undefined);
    if (!any) continue;
    const p = peers.find((x) => x.split === split);
    const cell = (x: Metrics | undefined) => (x ? `${pct(x.wer)} / ${pct(x.cer)}${within(x)}` : 'not run');
    lines.push(`| ${split} | ${any.utterances} | ${cells.map(cell).join(' | ')} | ${p ? cell(p) : 'not run'} |`);
  }
  lines.push('', '### Speech synthesis: pocketsphinx transcribes our audio; WER against the gold text', '');
  lines.push(
    '| split | utterances | this model: mean over seeds (min-max) | vs target | oracle (gold units -> vocoder) |',
    '|---|---|---|---|---|',
  );
  for (const split of splits) {
    const m = s.tts[split as keyof typeof s.tts];
    if (!m) continue;
    lines.push(
      `| ${split} | ${m.utterances} | ${pct(m.wer)} (${pct(m.werMin)}-${pct(m.werMax)}), seeds ${(m.seeds ?? []).join(', ')}${within(m)} | ${pct(m.vsTarget?.wer)} | ${pct(m.oracle?.wer)}${m.oracleRatio ? `; this model ${ratioCell(m.oracleRatio)}` : ''} |`,
    );
  }
  lines.push(...voiceTables(s, peers, splits));
  lines.push('', 'Commands:', '', '```sh');
  for (const m of [...evaluations(s), ...peers]) if (m.command) lines.push(m.command);
  lines.push('```', '');
  return lines;
}

/**
 * Per voice, for each split whose evaluations kept voices: the apps' decoder (the last ASR column
 * evaluated: lexicon, else CTC, else the text tower) beside pocketsphinx, and TTS beside its oracle
 * with the ratio's interval; the TTS voice (the one the model speaks in, and an independent
 * held-out set's) is marked.
 */
function voiceTables(s: RunSummary, peers: readonly Metrics[], splits: readonly string[]): string[] {
  const lines: string[] = [];
  const ttsVoice = Object.values(s.tts).find((m) => m?.ttsVoice)?.ttsVoice;
  for (const split of splits) {
    const key = split as keyof RunSummary['asr'];
    const asr = s.asrLexicon[key] ?? s.asrCtc[key] ?? s.asr[key];
    const tts = s.tts[key];
    const peer = peers.find((x) => x.split === split);
    const names = [...new Set([...Object.keys(asr?.voices ?? {}), ...Object.keys(tts?.voices ?? {})])].sort();
    if (names.length === 0) continue;
    lines.push(
      '',
      `### ${split} by voice (WER)`,
      '',
      "| voice | ASR utterances | this model (the apps' decoder) | pocketsphinx | TTS utterances | TTS, mean over seeds | oracle | TTS / oracle (95% interval) |",
      '|---|---|---|---|---|---|---|---|',
    );
    for (const v of names) {
      const a = asr?.voices?.[v];
      const p = peer?.voices?.[v];
      const t = tts?.voices?.[v];
      const r = t?.oracleRatio;
      lines.push(
        `| ${v}${v === ttsVoice ? ' (the TTS voice)' : ''} | ${a?.utterances ?? '-'} | ${a ? pct(a.wer) : '-'} | ${p ? pct(p.wer) : '-'} | ${t?.utterances ?? '-'} | ${t ? pct(t.wer) : '-'} | ${t ? pct(t.oracle) : '-'} | ${r ? ratioCell(r, '') : '-'} |`,
      );
    }
  }
  return lines;
}

/** The run folder of an evaluation written to `out` = RUN/eval/SPLIT/TASK (zipper eval asr|tts --out), else undefined. */
export function evaluationRunDir(out: string): string | undefined {
  const evalDir = path.dirname(path.dirname(out));
  return path.basename(evalDir) === 'eval' ? path.dirname(evalDir) : undefined;
}

export async function releaseFusedRun(o: ReleaseOptions, log: (s: string) => void): Promise<string> {
  const runDir = path.resolve(o.run);
  const summary = readRun(runDir, '--run');
  const trainedOn = summary.run.towers;
  const given = o.towers ?? {};
  const run: FuseRun = { ...summary.run, towers: await publishedTowers(summary.run, runDir, given) };
  if (summary.run.soup && o.untilStep !== undefined)
    throw new UsageError(`${runDir} is a soup of finished runs (zipper fuse soup): --until-step names a stop of one run; leave it out`);
  refusePastUntilStep(summary, o.untilStep);
  const unfinished = unfinishedReason(summary, o.untilStep);
  if (unfinished && !o.allowUnfinished)
    throw new UsageError(`${unfinished}, or pass --allow-unfinished to release it as it is (its card then says "steps N of M")`);
  if (unfinished) log(`released unfinished (--allow-unfinished): ${unfinished}`);
  const out = path.resolve(o.out);
  // what the package's head will carry, and so what the apps search with: checked from zipper.json
  // before the weights load (a baseline has no head; a run without model/ fails in loadTrainedModel)
  const modelDir = path.join(runDir, MODEL_DIR);
  const saved = run.kind === 'fuse' && existsSync(modelDir) ? await readZipperCheckpointInfo(modelDir) : undefined;
  const head = saved ? asrHead(saved.config) : undefined;
  const carried = o.search ?? head?.search;
  const settings = searchSettings(carried);
  if (o.search && !canSearchLexicon(head))
    throw new UsageError(
      `${runDir}: ${Object.values(LEXICON_SEARCH_FLAGS).join(', ')} set the lexicon search, which needs a byte-label CTC head (zipper fuse train --ctc-labels bytes); this model has ${head ? 'a head over tokens' : 'none'}`,
    );
  const mismatched = searchMismatches(summary, settings);
  if (mismatched.length > 0)
    throw new UsageError(
      `the lexicon evaluations of ${runDir}/eval searched with other settings than the package will: ${mismatched.join('; ')}; evaluate them again with the package's (zipper eval asr --decoder lexicon ${lexiconSearchFlags(settings)}), or give this command the settings they used`,
    );
  const trained = await loadTrainedModel(runDir, given);
  try {
    const sources = Object.fromEntries(
      Object.keys(given).map((m) => {
        const t = run.towers[m as Modality];
        return [m, { name: t.name, version: t.version, sha256: t.sha256 }];
      }),
    );
    mkdirSync(out, { recursive: true });
    // the time the run's model was made, not now: releasing the run again gives the same bytes
    const createdAt = saved?.info.createdAt ?? (await readTowerCheckpointInfo(modelDir)).metadata.createdAt;
    await trained.model.save(path.join(out, MODEL_DIR), {
      dtype: o.dtype,
      createdAt,
      sources,
      ...(o.search && head ? { search: { [ctcHeadName(head)]: o.search } } : {}),
    });
  } finally {
    trained.dispose();
  }
  // machine paths -> placeholders / package names (towers are found by name on other machines);
  // a --keep-best OUT/best names its run folder (in its command) too
  const machine: Record<string, string> = { [run.data.dir]: 'DATA', [runDir]: 'OUT' };
  if (run.best) Object.assign(machine, { [path.dirname(runDir)]: 'OUT', [runDir]: `OUT/${path.basename(runDir)}` });
  // an interpolated run (zipper fuse interpolate): its training ran in TUNED
  if (run.interpolate) machine[run.interpolate.run] = tunedOf('OUT');
  // a soup (zipper fuse soup): its parts' folders are PART_1, ... (and their own data builds PART_k_DATA)
  const soup = run.soup ? soupCard(run.soup, run.data.buildSha256) : undefined;
  if (soup) Object.assign(machine, soup.machine);
  // a run folder copied or moved since: the folder its last command wrote is OUT too
  const wrote = outOf(run.soup?.command ?? run.interpolate?.command ?? run.command);
  if (wrote !== undefined) machine[wrote] ??= 'OUT';
  // ... and so is the folder its evaluations wrote into (RUN/eval/SPLIT/TASK), where the run was moved
  // after its last command (an interpolation written beside and renamed) and copied again since
  for (const m of evaluations(summary)) {
    const evaluatedIn = m.out === undefined ? undefined : evaluationRunDir(m.out);
    if (evaluatedIn !== undefined) machine[evaluatedIn] ??= machine[runDir]!;
  }
  const chain = initChain(run);
  for (const c of chain) {
    machine[c.dir] = c.label;
    if (c.run) machine[c.run.data.dir] ??= `${c.label}_DATA`;
    if (c.run?.interpolate) machine[c.run.interpolate.run] = tunedOf(c.label); // a source that is an interpolated run folder
  }
  const lineage = chainLines(chain, machine);
  const peers = readPeers(o.peers);
  const evaluated = [...evaluations(summary), ...peers];
  for (const dir of sameSplitBuilds(evaluated, run.data)) machine[dir] ??= 'DATA';
  const evalBuilds = otherBuilds(evaluated, machine);
  for (const b of evalBuilds) machine[b.dir] = b.label;
  for (const m of Object.keys(run.towers) as Modality[]) {
    machine[trainedOn[m].dir] = run.towers[m].name; // the folder it trained on, published as this package
    machine[run.towers[m].dir] = run.towers[m].name;
  }
  for (const p of o.peers) machine[path.resolve(p)] = 'PEER';
  for (const m of peers) if (m.out) machine[m.out] ??= 'PEER'; // a peer output copied elsewhere (docs/runs/peer) names where it was written
  machine[out] ??= o.name; // evaluations of the released package itself name it (a release over its own --init-from source keeps INIT)
  const ip = run.interpolate; // zipper fuse interpolate: its command after the training's, and what TUNED is
  const trainedBy: Lineage = {
    commands: [...lineage.commands, ...(soup ? soup.commands : [o.command ?? run.command, ...(ip ? [ip.command] : [])])],
    legend: [
      ...lineage.legend,
      ...(soup ? soup.legend : []),
      ...(ip
        ? [
            `\`TUNED\`: the run trained by the command above it; OUT holds its weights interpolated toward \`INIT\`'s: ${blendOf(ip.alpha, 'INIT', 'TUNED')} (weights sha256 of TUNED \`${ip.sha256}\`).`,
          ]
        : []),
    ],
  };
  // run.json as the run wrote it, plus the lineage the card prints (what --init-from this package reads)
  const released: FuseRun = { ...run, lineage: trainedBy };
  writeFileSync(path.join(out, 'run.json'), portable(`${JSON.stringify(released, null, 2)}\n`, machine));
  if (existsSync(path.join(runDir, LOSS_PLOT))) copyFileSync(path.join(runDir, LOSS_PLOT), path.join(out, LOSS_PLOT));
  const towers = Object.values(run.towers);
  writeFileSync(
    path.join(out, 'package.json'),
    `${JSON.stringify(
      {
        name: o.name,
        version: o.version,
        description: `Zipper model (${summary.label}) of ${towers.map((t) => `${t.name}@${t.version}`).join(' + ')}: speech recognition and synthesis from one model (weights, run.json, model card)`,
        license: 'Apache-2.0',
        files: ['model', 'run.json', 'README.md', LOSS_PLOT],
        keywords: ['zipper', 'checkpoint', 'asr', 'tts'],
        dependencies: Object.fromEntries(towers.map((t) => [t.name, t.version])),
        // the reader: the @zipper/fuse that wrote model/ reads it, an older one may not (e.g. a search
        // setting it does not know), so installing the package beside one warns
        peerDependencies: { '@zipper/fuse': `>=${libraryVersion('@zipper/fuse')}` },
      },
      null,
      2,
    )}\n`,
  );
  const r = run.recipe;
  const held = summary.heldOut;
  const card = [
    '---',
    'library_name: zipper',
    'pipeline_tag: automatic-speech-recognition',
    'license: apache-2.0',
    'base_model:',
    ...towers.map((t) => `- ${t.name}@${t.version}`),
    'datasets:',
    `- ${buildName(run.data)}`,
    'tags:',
    '- zipper',
    '- text-to-speech',
    '- tensorflow.js',
    '---',
    '',
    `# ${o.name}`,
    '',
    `A Zipper model (${summary.label}) fusing ${towers.map((t) => `\`${t.name}@${t.version}\``).join(' and ')} with gated cross-attention`,
    `(${run.model.crossLayers ?? '-'} cross-attention layers per direction, ${run.model.projectionLayers ?? '-'}-layer projections), fine-tuned on ${run.data.percent}% of the aligned pairs ${purpose(run, trainedBy.commands.length)}.`,
    `${run.parameters.total.toLocaleString('en-US')} parameters, ${run.parameters.trained.toLocaleString('en-US')} trained here; weights stored as ${o.dtype}.`,
    '',
    '```sh',
    'npx zipper transcribe FILE.wav   # this package is the default model',
    'npx zipper speak "hello world" --out hello.wav',
    '```',
    '',
    ...(o.notes ? [o.notes.trimEnd(), ''] : []),
    '## Towers (verified by sha256 when loading)',
    '',
    '| tower | package | sha256 of its weights |',
    '|---|---|---|',
    ...Object.entries(run.towers).map(([m, t]) => `| ${m} | \`${t.name}@${t.version}\` | \`${t.sha256}\` |`),
    '',
    '## Training',
    '',
    '```sh',
    ...trainedBy.commands,
    '```',
    '',
    '`DATA`: the data build below; `OUT`: the run folder (its `eval/` holds the evaluation outputs); `PEER`: a `zipper eval peer` output.',
    ...evalBuilds.map((b) => b.legend),
    ...trainedBy.legend,
    '',
    '| | |',
    '|---|---|',
    `| data | \`zipper data build ${buildArgs(run.data)}\` (build.json sha256 \`${run.data.buildSha256}\`), ${run.data.percent}% of the aligned pairs |`,
    // the mix only where it mixes: a run of one task records the default mix it never used
    `| tasks | ${
      run.tasks.length > 1
        ? `${run.tasks.join(' + ')}, mixed ${run.tasks.map((t) => `${t} ${run.mix[t]}`).join(' : ')} by example count`
        : oneTaskLabel(run)
    } |`,
    ...(run.interpolate
      ? [
          `| weights | ${blendOf(run.interpolate.alpha, 'INIT', 'TUNED')} (\`zipper fuse interpolate\`); the rows below are TUNED's training |`,
        ]
      : []),
    ...(run.soup ? [`| weights | ${soupText(run.soup)} (\`zipper fuse soup\`); the rows below are PART_1's training |`] : []),
    `| steps | ${summary.steps.toLocaleString('en-US')} of ${r.steps.toLocaleString('en-US')} x ${r.batchSize} examples, ${summary.tokens.toLocaleString('en-US')} tokens |`,
    `| optimizer | AdamW, lr ${r.peakLr} -> ${r.minLr} (cosine, warmup ${r.warmup}), weight decay ${r.weightDecay}, clip ${r.clip} |`,
    `| seed | ${run.seed} |`,
    `| wall time | ${(summary.wallSeconds / 60).toFixed(1)} min (sessions.jsonl of the run) |`,
    `| training loss, last 20 steps | ${Object.entries(summary.trainLoss)
      .map(([k, v]) => `${k} ${f4(v)}`)
      .join(', ')} nats/token |`,
    `| held-out loss (dev), last evaluation | ${Object.entries(held)
      .map(([k, v]) => `${k} ${f4(v)}`)
      .join(', ')} nats/token |`,
    '',
    '![training and held-out loss per stream against tokens seen](loss.svg)',
    '',
    '## Evaluation (this package, as shipped)',
    '',
    ...evalTables(summary, peers, settings.rescoreWeight > 0),
    ...(Object.keys(summary.asrLexicon).length > 0
      ? [
          `The lexicon search (\`--decoder lexicon\`, the apps' default) with ${lexiconSearchText(settings)}: ${
            carried && Object.keys(carried).length > 0
              ? "this package's own settings (model/zipper.json, its CTC head's `search`), which the apps use"
              : "the search's defaults"
          }.`,
          '',
        ]
      : []),
  ];
  writeFileSync(path.join(out, 'README.md'), portable(`${card.join('\n')}\n`, machine));
  log(`checkpoint package ${o.name}@${o.version} in ${out} (${o.dtype} weights)`);
  return out;
}

/**
 * What the card's first line says the model was fine-tuned for: both tasks, or one; a one-task
 * warm start (more than one training command) names its stages and the last one's task only (the
 * lineage keeps the earlier stages' commands, which the card prints, not their tasks); an
 * interpolated run (`zipper fuse interpolate`, its last command) says so after the training.
 */
export function purpose(run: Pick<FuseRun, 'tasks' | 'interpolate' | 'soup'>, commands: number): string {
  // the interpolation is a command, not a training stage; a soup's parts are one stage, its command none
  const stages = run.interpolate ? commands - 1 : run.soup ? commands - run.soup.parts.length : commands;
  const trained =
    run.tasks.length > 1
      ? 'for speech recognition and synthesis'
      : stages > 1
        ? `in ${stages} stages (the commands below), the last on ${oneTaskLabel(run)}`
        : run.tasks[0] === 'asr'
          ? 'for speech recognition'
          : 'for speech synthesis';
  if (run.soup)
    return `${trained}, then averaged: ${soupText(run.soup)} (a model soup of ${partsText(run.soup)}, the last stage's ${run.soup.parts.length} runs from the same start)`;
  if (!run.interpolate) return trained;
  const a = run.interpolate.alpha;
  return `${trained}, then interpolated: ${remainderOf(a)} x the weights the last stage started from + ${a} x its own (the last command)`;
}

const n = (x: number) => x.toLocaleString('en-US');

/** A run past --until-step cannot be released even with --allow-unfinished: the card's command would stop before its weights. */
function refusePastUntilStep(s: RunSummary, untilStep: number | undefined): void {
  if (s.run.best) return; // a --keep-best copy is judged by the run around it
  const end = untilStep ?? s.run.recipe.steps;
  if (s.steps > end)
    throw new UsageError(
      `${s.dir} is at step ${n(s.steps)}, past --until-step ${n(end)}: the card's command would stop before these weights; pass --until-step ${s.steps} or leave it out`,
    );
}

/**
 * The other data builds that evaluations (or peers) ran on, where the split is one the run's build
 * holds (its build.json: a rebuild without a flag leaves that set's manifests on disk) and its manifest is byte for
 * byte the run's (the same utterances, texts and audio sha256s: e.g. a build grown with
 * --aligned keeps dev and test): their paths print as DATA, since they are DATA's splits. The
 * evaluation's recorded manifestSha256 is what it read; records without one (before 2026-12-03)
 * are compared by hashing the manifest in their build, if it is still there.
 */
function sameSplitBuilds(metrics: readonly Metrics[], data: BuildRef): string[] {
  const dataDir = data.dir;
  const hashes = new Map<string, string | undefined>(); // each manifest read once (a split has several evaluations)
  const hash = (file: string) => {
    if (!hashes.has(file)) hashes.set(file, existsSync(file) ? sha256Hex(readFileSync(file)) : undefined);
    return hashes.get(file);
  };
  const dirs = new Set<string>();
  for (const m of metrics) {
    if (m.data === undefined || path.resolve(m.data) === path.resolve(dataDir)) continue;
    // a manifest the run's build does not hold (left on disk by a rebuild without its flag) is not DATA's
    if (isAudioSplit(m.split) && !buildHasSplit(data, m.split)) continue;
    const name = m.manifest ?? `${m.split}.jsonl`;
    const theirs = m.manifestSha256 ?? hash(path.join(path.resolve(m.data), name));
    if (theirs !== undefined && theirs === hash(path.join(path.resolve(dataDir), name))) dirs.add(path.resolve(m.data));
  }
  return [...dirs];
}

/**
 * The data builds that evaluations (or peers) ran on which are neither the run's nor hold its
 * splits byte for byte (e.g. one made with `--dev-other` for its dev-other split): each prints as
 * `EVAL_DATA`, `EVAL_DATA_2`, ..., with a legend line naming the command that makes it (from its
 * build.json), not as a machine path. A build whose build.json is gone keeps its path.
 */
function otherBuilds(
  metrics: readonly Metrics[],
  machine: Readonly<Record<string, string>>,
): { dir: string; label: string; legend: string }[] {
  const known = new Set(Object.keys(machine).map((d) => path.resolve(d)));
  const dirs = [...new Set(metrics.flatMap((m) => (m.data === undefined ? [] : [path.resolve(m.data)])))].filter((d) => !known.has(d));
  const out: { dir: string; label: string; legend: string }[] = [];
  for (const dir of dirs) {
    if (!existsSync(path.join(dir, BUILD_FILE))) continue;
    const data = DataDir.open(dir);
    const label = out.length === 0 ? 'EVAL_DATA' : `EVAL_DATA_${out.length + 1}`;
    out.push({
      dir,
      label,
      legend: `\`${label}\`: the data build of the evaluations that name it, \`zipper data build --out ${label} ${buildArgs(data.build)}\` (build.json sha256 \`${data.buildSha256}\`).`,
    });
  }
  return out;
}

/** A run that a released run started from (`--init-from`), nearest first: `INIT`, `INIT_2`, ... */
interface InitSource {
  readonly label: string;
  /** The placeholder of the run that started from it. */
  readonly of: string;
  readonly dir: string;
  /** Its run.json (a run folder) or, for a checkpoint package, the package's (read when the run started from it). */
  readonly run?: FuseRun;
  /** Its weights' sha256 as the run that started from it recorded them. */
  readonly sha256: string;
  /** A checkpoint package: the chain ends here, its card's commands and legend relabeled into this card's placeholders. */
  readonly package?: PackageSource & { readonly relabeled: { readonly commands: string[]; readonly legend: string[] } };
}

const label = (i: number) => (i === 1 ? 'INIT' : `INIT_${i}`);
/** "the run OUT", "the runs PART_1 and PART_2" (a soup's parts): who started from a source. */
const runsOf = (of: string) => (of.includes(' and ') ? `the runs ${of}` : `the run ${of}`);

/** The placeholder of the run an interpolated run `at` blended toward its start (zipper fuse interpolate): OUT's `TUNED`, INIT_k's `INIT_k_TUNED`. */
const tunedOf = (at: string) => (at === 'OUT' ? 'TUNED' : `${at}_TUNED`);
/** An interpolation as the card writes it. */
const blendOf = (alpha: number, start: string, tuned: string) => `(1 - ${alpha}) x ${start} + ${alpha} x ${tuned} per weight`;

/**
 * A package card's placeholders in the card of a run `k` sources down the chain: its `OUT` is
 * this card's `INIT_k`, its `INIT_n` this card's `INIT_(k+n)`, its `DATA` stays `DATA` when it
 * is the same build (else `INIT_k_DATA`), its `TUNED` (an interpolated release) `INIT_k_TUNED`,
 * its `PART_j` (a soup's parts) `INIT_k_PART_j`, all at once (one pass, so no name is renamed twice).
 */
export function relabel(text: string, k: number, sameData: boolean): string {
  return text.replace(
    /\b(OUT|INIT(?:_(\d+))?|DATA|TUNED|PART_\d+)((?:_PART_\d+)?(?:_DATA|_TUNED)?)\b/g,
    (all, name: string, n: string | undefined, suffix: string) => {
      if (name === 'DATA') return suffix ? all : sameData ? 'DATA' : `${label(k)}_DATA`;
      if (name === 'TUNED') return suffix ? all : tunedOf(label(k));
      if (name.startsWith('PART_')) return `${label(k)}_${name}${suffix}`;
      const to = name === 'OUT' ? label(k) : label(k + (n === undefined ? 1 : Number(n)));
      return `${to}${suffix}`;
    },
  );
}

/**
 * The --init-from chain of `run`: every source's run.json must be readable, else the card could
 * not say how the weights came to be; a checkpoint package ends it (its card, recorded in
 * run.json when the run started from it, names the runs before).
 */
function initChain(run: FuseRun): InitSource[] {
  const chain: InitSource[] = [];
  for (let r = run, of = run.soup ? partsText(run.soup) : run.interpolate ? tunedOf('OUT') : 'OUT'; r.initFrom;) {
    const here = label(chain.length + 1);
    const pkg = r.initFrom.package;
    if (pkg) {
      const k = chain.length + 1;
      const same = pkg.dataSha256 === run.data.buildSha256;
      const relabeled = { commands: pkg.commands.map((c) => relabel(c, k, same)), legend: pkg.legend.map((l) => relabel(l, k, same)) };
      chain.push({ label: here, of, dir: r.initFrom.dir, sha256: r.initFrom.sha256, package: { ...pkg, relabeled } });
      break;
    }
    const file = path.join(r.initFrom.dir, 'run.json');
    if (!existsSync(file))
      throw new UsageError(
        `the run started from ${r.initFrom.dir} (--init-from), which has no run.json here: the model card could not name the command that trained it; restore that run folder`,
      );
    const source = readFuseRun(file);
    if (source.soup)
      throw new UsageError(
        `the run started from ${r.initFrom.dir} (--init-from), a soup of runs (zipper fuse soup): the model card could not name one training chain; release the soup and start from the package`,
      );
    chain.push({ label: here, of, dir: r.initFrom.dir, run: source, sha256: r.initFrom.sha256 });
    if (chain.length > 16)
      throw new UsageError(`the --init-from chain of the run is longer than 16 runs (a cycle through ${r.initFrom.dir}?)`);
    r = source;
    of = source.interpolate ? tunedOf(here) : here; // an interpolated run folder: its training started from the next source
  }
  return chain;
}

/** The card's training block (oldest command first) and the lines that name the chain's placeholders. */
function chainLines(chain: readonly InitSource[], machine: Readonly<Record<string, string>>): { commands: string[]; legend: string[] } {
  const commands: string[] = [];
  const legend: string[] = [];
  for (const [i, c] of chain.entries()) {
    if (c.package) {
      commands.unshift(...c.package.relabeled.commands);
      legend.push(
        `\`${c.label}\`: ${runsOf(c.of)} started from (\`--init-from\`): the checkpoint package \`${c.package.name}@${c.package.version}\` (its weights as released, sha256 \`${c.sha256}\`): the release of the run with \`--out ${c.label}\` above; its model card named the commands and placeholders repeated here.`,
        ...c.package.relabeled.legend,
      );
    } else if (c.run) {
      const ip = c.run.interpolate; // an interpolated run folder: its training ran in tunedOf(label), then `zipper fuse interpolate`
      commands.unshift(c.run.command, ...(ip ? [ip.command] : []));
      const data =
        machine[c.run.data.dir] === `${c.label}_DATA`
          ? ` on \`${c.label}_DATA\` = \`zipper data build ${buildArgs(c.run.data)}\` (build.json sha256 \`${c.run.data.buildSha256}\`)`
          : '';
      const before = label(i + 2);
      const tuned = tunedOf(c.label);
      legend.push(
        ip
          ? `\`${c.label}\`: ${runsOf(c.of)} started from (\`--init-from\`, weights sha256 \`${c.sha256}\`): \`${tuned}\`, trained first by the command two above it${data}, interpolated toward \`${before}\`'s by the command above it: ${blendOf(ip.alpha, before, tuned)} (weights sha256 of ${tuned} \`${ip.sha256}\`).`
          : `\`${c.label}\`: ${runsOf(c.of)} started from (\`--init-from\`, weights sha256 \`${c.sha256}\`), trained first by the command above it${data}.`,
      );
    }
  }
  return { commands, legend };
}
