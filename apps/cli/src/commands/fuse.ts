/**
 * `zipper fuse train|generate|probe|release|interpolate|soup`: zip a pretrained text tower and speech tower with gated
 * cross-attention (@zipper/fuse), fine-tune on the aligned pairs of a data build, and decode with
 * an output-modality schedule (docs/fuse-cli.md). `zipper baseline` is the same command body for
 * the single-decoder baseline.
 */
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { withCarriedSearch } from '@zipper/fuse';
import { intArg, numArg, packageNameArg, parse, readInputFile } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { GENERATE_USAGE, runFusedGenerate } from '../fuse/generate-command.js';
import { PROBE_USAGE, runFusedProbe } from '../fuse/probe-command.js';
import { LEXICON_SEARCH_OPTIONS, lexiconSearchArgs } from '../apps/transcriber.js';
import { interpolateRun } from '../fuse/interpolate.js';
import { releaseFusedRun } from '../fuse/release.js';
import { checkRecordTarget, isWithin, writeRecord } from '../eval/record.js';
import { existingVersion } from '../training/portable.js';
import { readFuseRun } from '../fuse/run-file.js';
import { soupRuns } from '../fuse/soup.js';
import { parseTowerOptions } from '../fuse/towers.js';
import { runFusedTraining, trainUsage } from '../fuse/train-command.js';
import { untilStepCommand } from '../training/session.js';

const RELEASE_USAGE = `usage: zipper fuse release --run RUN_DIR --out DIR [--name @zipper/checkpoint-zipper-small]
      [--version 0.1.0] [--dtype float16|float32] [--peer DIR ...] [--until-step N] [--allow-unfinished]
      [--tower text|speech=PACKAGE ...] [--beam N] [--lm-weight W] [--word-bonus B] [--blank-penalty P]
      [--rescore W] [--n-best N] [--oov-byte-log-prob L] [--dictionary-word-log-prob D] [--views K]
      [--level-range R] [--level-down D] [--notes FILE] [--record DIR]

Writes the trained run (the --out of zipper fuse train or baseline train, whose towers are
checkpoint packages) as an installable checkpoint package: package.json (depending on the exact
tower versions), run.json, model/ (--dtype, default float16), loss.svg and a model card with the
run's numbers and the evaluation tables of RUN/eval/SPLIT/{asr,asr-ctc,asr-lexicon,tts}/metrics.json (zipper eval
asr|tts --out RUN/eval/SPLIT/asr|tts), with pocketsphinx's rows from --peer (zipper eval peer
outputs). --until-step N: the run was stopped there (its command in the card gets the flag).
Only a finished run is released: one whose loss.jsonl reached its schedule's last step (or
--until-step N); a run stopped early (--minutes, a kill) is refused with the step it reached and
how to continue it (zipper fuse train --out RUN_DIR --resume). RUN_DIR/best (--keep-best) counts
as finished once its run is. --allow-unfinished releases it anyway (the card says "steps N of M").
--tower speech=PACKAGE: the run trained on a tower folder that is published since as a checkpoint
package (e.g. zipper pretrain speech --out DIR --resume --name NAME): the package must hold the
same tower weights and tokenizer (sha256), and the release names it (package.json, run.json,
model/zipper.json, the card's commands). A tower recorded as a plain folder needs it.
--beam, --lm-weight, --word-bonus, --blank-penalty, --rescore, --n-best, --oov-byte-log-prob,
--dictionary-word-log-prob, --views, --level-range, --level-down: the lexicon
search's settings (with its second pass, the text tower's rescoring of the n best, the views of the audio voted and the
range its level is fitted within) stored with the package's CTC head
(model/zipper.json), which zipper transcribe, zipper eval asr and the web page then use where none
is given (chosen on dev; default: none stored, the search's defaults). Every lexicon evaluation in
RUN/eval must have decoded with the package's settings (else refused).
--notes FILE: markdown put in the card after its usage block, verbatim (e.g. a Limitations section).
--record DIR: after the release, keeps the run's record there (what zipper eval record --run RUN_DIR
writes: its .json/.jsonl/.txt files, loss.svg and evaluations, never weights), with each --peer
recorded under DIR/peers/NAME (NAME: the peer folder's name): small enough to commit, and with the
package's model/ copied in a run folder this command releases again (--peer DIR/peers/NAME).
--version defaults to the version already in DIR/package.json, else 0.1.0 (versions move with
changesets once the package is in the repository).`;

const RELEASE_OPTIONS = {
  run: { type: 'string' },
  out: { type: 'string' },
  name: { type: 'string' },
  tower: { type: 'string', multiple: true },
  version: { type: 'string' },
  dtype: { type: 'string' },
  peer: { type: 'string', multiple: true },
  'until-step': { type: 'string' },
  'allow-unfinished': { type: 'boolean', default: false },
  notes: { type: 'string' },
  record: { type: 'string' },
  ...LEXICON_SEARCH_OPTIONS,
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function runRelease(argv: readonly string[]): Promise<number> {
  const { values: v } = parse(argv, RELEASE_OPTIONS, RELEASE_USAGE);
  if (v.help) {
    console.log(RELEASE_USAGE);
    return 0;
  }
  if (!v.run || !v.out) throw new UsageError(`--run RUN_DIR and --out DIR are required\n\n${RELEASE_USAGE}`);
  const dtype = v.dtype ?? 'float16';
  if (dtype !== 'float16' && dtype !== 'float32') throw new UsageError(`--dtype must be float16 or float32, got "${dtype}"`);
  const name = packageNameArg(v.name ?? '@zipper/checkpoint-zipper-small');
  const version = v.version ?? existingVersion(path.resolve(v.out)) ?? '0.1.0';
  if (!/^\d+\.\d+\.\d+(-[0-9a-z.]+)?$/.test(version)) throw new UsageError(`--version must be a semver version, got "${version}"`);
  const until = v['until-step'] === undefined ? undefined : intArg(v['until-step'], 'until-step', 0, 1);
  const command =
    until === undefined ? undefined : untilStepCommand(readFuseRun(path.join(path.resolve(v.run), 'run.json')).command, until);
  const notes = v.notes === undefined ? undefined : readInputFile(v.notes, '--notes').toString('utf8');
  const towers = parseTowerOptions(v.tower, { optional: true });
  // the package carries exactly the settings given (none of the run's): `none` leaves a cost out
  const search = withCarriedSearch(undefined, lexiconSearchArgs(v));
  const record = v.record === undefined ? undefined : releaseRecord(v.run, v.out, v.record, v.peer ?? []);
  await initBackend();
  const out = await releaseFusedRun(
    {
      run: v.run,
      out: v.out,
      name,
      version,
      dtype,
      peers: v.peer ?? [],
      ...(command ? { command } : {}),
      ...(until === undefined ? {} : { untilStep: until }),
      allowUnfinished: v['allow-unfinished'],
      ...(notes ? { notes } : {}),
      towers,
      ...(Object.keys(search).length > 0 ? { search } : {}),
    },
    (s) => void process.stderr.write(`${s}\n`),
  );
  if (record) {
    const written = await writeRecord(record.run, record.dir, 1, record.peers);
    process.stderr.write(`recorded ${record.run} in ${record.dir}: ${written.files} files, ${(written.bytes / 1e6).toFixed(2)} MB\n`);
  }
  console.log(JSON.stringify({ name, version, dtype, out, ...(record ? { record: record.dir } : {}) }));
  return 0;
}

/**
 * `--record DIR` checked before anything is released: a folder that can take the run's record
 * (checkRecordTarget), outside the package, and the peers' names (their folders' names) distinct.
 */
function releaseRecord(
  run: string,
  out: string,
  dir: string,
  peers: readonly string[],
): { run: string; dir: string; peers: Record<string, string> } {
  const [runDir, recordDir, pkg] = [path.resolve(run), path.resolve(dir), path.resolve(out)];
  checkRecordTarget(runDir, recordDir, `--record ${dir}`);
  if (isWithin(pkg, recordDir))
    throw new UsageError(`--record ${dir}: inside the package (--out ${out}), which would publish it; choose a folder outside it`);
  const named: Record<string, string> = {};
  for (const p of peers) {
    const name = path.basename(path.resolve(p));
    if (named[name] !== undefined)
      throw new UsageError(`--record: two --peer folders are named ${name} (${named[name]}, ${p}); rename one`);
    named[name] = path.resolve(p);
  }
  return { run: runDir, dir: recordDir, peers: named };
}

const INTERPOLATE_USAGE = `usage: zipper fuse interpolate --run RUN_DIR --alpha A --out DIR

Writes DIR, a run whose weights are RUN_DIR's moved back toward the weights it started from (its
--init-from, INIT): (1 - A) x INIT + A x RUN per weight (WiSE-FT); weights the run held keep their
values bit for bit. A in [0, 1]: 1 is the run, 0 its start. For a fine-tuning that bought one
condition at the cost of another, a point between can keep part of the gain at part of the cost,
with no training. DIR is a run folder (run.json with "interpolate", model/, the run's loss.jsonl,
sessions.jsonl, loss.svg) that zipper eval asr|tts --model, zipper fuse release --run and
--init-from take; its release card names the run's command and this one. Both weight sets are
checked against their sha256 (INIT's against what the run recorded when it started). A zipped or a
baseline run.`;

const INTERPOLATE_OPTIONS = {
  run: { type: 'string' },
  alpha: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function runInterpolate(argv: readonly string[]): Promise<number> {
  const { values: v } = parse(argv, INTERPOLATE_OPTIONS, INTERPOLATE_USAGE);
  if (v.help) {
    console.log(INTERPOLATE_USAGE);
    return 0;
  }
  if (!v.run || !v.out || v.alpha === undefined)
    throw new UsageError(`--run RUN_DIR, --alpha A and --out DIR are required\n\n${INTERPOLATE_USAGE}`);
  const alpha = numArg(v.alpha, 'alpha', 0, 0, 1);
  await initBackend();
  const out = await interpolateRun({ run: v.run, alpha, out: v.out }, (s) => void process.stderr.write(`${s}\n`));
  console.log(JSON.stringify({ alpha, out }));
  return 0;
}

const SOUP_USAGE = `usage: zipper fuse soup --runs RUN_DIR,RUN_DIR[,...] [--weights W,W[,...]] --out DIR

Writes DIR, a run whose weights are a weighted average of the runs' (a model soup, Wortsman et al.
2022): W_1 x RUN_1 + W_2 x RUN_2 + ... per weight, in float32 in --runs order; an element equal in
every run (a weight the fine-tunings held) keeps its value bit for bit. --weights: one per run, in
[0, 1], summing to 1 (default: equal). The runs must have started from the same weights (--init-from,
the same sha256), with the same towers, and have finished their schedules: fine-tunings of one
start that each bought something (e.g. one on clean speech, one on noisy) can keep both gains in
one model, with no training. DIR is a run folder (run.json: the first run's plus "soup", model/, the
first run's loss.jsonl, sessions.jsonl, loss.svg) that zipper eval asr|tts --model and zipper fuse
release --run take; its release card names every run's training command (PART_1, PART_2, ...) and
this one. A soup is not an input of another soup, an interpolation or --init-from (release it and
start from the package). Every run's weights are checked against their sha256 before and after
reading. Zipped or baseline runs.`;

const SOUP_OPTIONS = {
  runs: { type: 'string' },
  weights: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function runSoup(argv: readonly string[]): Promise<number> {
  const { values: v } = parse(argv, SOUP_OPTIONS, SOUP_USAGE);
  if (v.help) {
    console.log(SOUP_USAGE);
    return 0;
  }
  if (!v.runs || !v.out) throw new UsageError(`--runs RUN_DIR,RUN_DIR and --out DIR are required\n\n${SOUP_USAGE}`);
  const runs = v.runs.split(',').filter((r) => r !== '');
  const weights = v.weights?.split(',').map((w) => numArg(w, 'weights', 0, 0, 1));
  await initBackend();
  const out = await soupRuns({ runs, ...(weights ? { weights } : {}), out: v.out }, (s) => void process.stderr.write(`${s}\n`));
  console.log(JSON.stringify({ runs: runs.map((r) => path.resolve(r)), ...(weights ? { weights } : {}), out }));
  return 0;
}

export const fuse: Command = {
  name: 'fuse',
  summary:
    'zip a text and a speech tower: fine-tune on aligned pairs (train), decode across modalities (generate), test input use (probe), package (release), blend a fine-tuning with its start (interpolate), average fine-tunings of one start (soup)',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'train') return runFusedTraining('fuse', rest);
    if (sub === 'generate') return runFusedGenerate(rest);
    if (sub === 'release') return runRelease(rest);
    if (sub === 'probe') return runFusedProbe(rest);
    if (sub === 'interpolate') return runInterpolate(rest);
    if (sub === 'soup') return runSoup(rest);
    if (sub === '--help' || sub === '-h') {
      console.log(
        `${trainUsage('fuse')}\n\n${GENERATE_USAGE}\n\n${PROBE_USAGE}\n\n${RELEASE_USAGE}\n\n${INTERPOLATE_USAGE}\n\n${SOUP_USAGE}`,
      );
      return 0;
    }
    throw new UsageError(
      `${sub === undefined ? 'which subcommand?' : `unknown subcommand "${sub}"`} (train, generate, probe, release, interpolate or soup)\n\n${trainUsage('fuse')}`,
    );
  },
};
