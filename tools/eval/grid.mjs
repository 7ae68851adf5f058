#!/usr/bin/env node
// The experiment grid of issue 11 (docs/eval.md, "The grid"), run as resumable chunks: zipped
// models (paper-faithful with the speech tower frozen or trained, and this project's recipe)
// against the single decoder, each on 1%, 10% and 100% of the aligned pairs, with equal step
// budgets and seed 0; then each finished run's evaluations. Every invocation continues where the
// last one stopped: a run's training resumes exactly (`--resume`), an evaluation whose
// metrics.json exists is skipped. With --minutes M it stops starting new work after M minutes and
// gives a training chunk only what is left, so it fits in a session; call it again to go on.
//
//   node tools/eval/grid.mjs --data DIR --out DIR [--steps 3000] [--minutes M] [--only NAME,...]
//                            [--reuse NAME=RUN ...] [--records DIR] [--plan]
//
// --reuse NAME=RUN counts a finished run made elsewhere as the grid's run NAME instead of training
// it again (zipper-ours-100pct was the first run of the shipped model's chain up to its 0.4 releases): RUN's run.json must hold the same
// command option for option (towers, data and output aside), towers with the same weights (sha256)
// and the same data, and its loss log must reach --steps. NAME becomes a link to RUN; the
// evaluations RUN lacks are written into it.
//
// --records DIR keeps each finished run's results (`zipper eval record`: run.json, losses, every
// evaluation's metrics and transcripts, a sample of audio; no weights) in DIR/NAME, a folder small
// enough to commit (docs/runs). A run whose record holds every evaluation is done: it is not
// trained or evaluated again even when its run folder is gone (a new machine), and the report
// reads the record. So the grid's progress survives the machine at the granularity of a run.
//
// --plan prints the runs, their commands and the budget, and runs nothing. Progress goes to
// stderr; the last stdout line is a JSON summary: { runs: [{ name, trained, step, steps, evals, record }], done }.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ZIPPER = path.join(root, 'apps', 'cli', 'dist', 'bin.js');

/** Bad options (exit 2). */
export class GridError extends Error {
  name = 'GridError';
}

/** A zipper command of the grid failed (exit 1); its own message is above on stderr. */
export class GridStepError extends Error {
  name = 'GridStepError';
}

/**
 * Throughput measured on this project's 2-core machine (docs/eval.md, "The grid"), to size the
 * budget: zipped small pair, batch 8, one worker, steps per minute (the shipped model's run,
 * 2026-12-02, sharing the machine with evaluations and tests: 3,000 steps in 3,990 s).
 */
export const ZIPPED_STEPS_PER_MINUTE = 45;

export const FRACTIONS = [
  { name: '1pct', fraction: '0.01' },
  { name: '10pct', fraction: '0.1' },
  { name: '100pct', fraction: '1' },
];

/** The models of the grid: zipper train options (fuse) or baseline options (single). */
export const MODELS = [
  {
    name: 'zipper-frozen',
    kind: 'fuse',
    what: 'paper: both towers frozen, gates 0',
    args: ['--freeze', 'text,speech', '--cross-layers', '2', '--lr', '0.005'],
  },
  {
    name: 'zipper-unfrozen',
    kind: 'fuse',
    what: 'paper: text frozen, speech tower trained, gates 0',
    args: ['--freeze', 'text', '--cross-layers', '2', '--lr', '0.005'],
  },
  {
    name: 'zipper-ours',
    kind: 'fuse',
    what: 'beyond the paper: speech at 0.1x lr, zero-output + gates 1, CTC head (bytes, 2-block encoder), alignment prior, rotary cross positions, ASR on both renderings',
    // the recipe the shipped model's chain starts from, option for option (@zipper/checkpoint-zipper-small: up to 0.4 its 100% run on the
    // 15,000-pair build, warm-started; from 0.5 the same with the 2,048-unit speech tower, 6,000 steps at lr 0.003, CTC weight 1, noisy
    // ASR audio too and gates held, then two warm starts: tools/test/grid.test.ts reads the card's chain)
    args: [
      '--freeze',
      'text',
      '--tower-lr-scale',
      '0.1',
      '--cross-layers',
      '2',
      '--lr',
      '0.005',
      '--gate-init',
      '1',
      '--zero-output',
      '--ctc-weight',
      '0.3',
      '--ctc-labels',
      'bytes',
      '--ctc-encoder-layers',
      '2',
      '--align-weight',
      '1',
      '--cross-rope',
      '--asr-audio',
      'asr,tts',
      '--projection-layers',
      '3',
      '--mix',
      '1:1.26',
    ],
  },
  { name: 'single', kind: 'baseline', what: "the paper's single decoder, every weight trained", args: ['--lr', '0.001'] },
];

/** Every run of the grid with its training command (arguments after `zipper`). */
export function gridRuns(o) {
  const runs = [];
  for (const f of FRACTIONS)
    for (const m of MODELS) {
      const name = `${m.name}-${f.name}`;
      const out = path.join(o.out, name);
      runs.push({
        name,
        model: m,
        fraction: f,
        out,
        train: [
          m.kind === 'fuse' ? 'fuse' : 'baseline',
          'train',
          '--tower',
          `text=${o.text}`,
          '--tower',
          `speech=${o.speech}`,
          '--tasks',
          'asr,tts',
          '--aligned',
          o.data,
          '--fraction',
          f.fraction,
          '--out',
          out,
          '--seed',
          '0',
          '--steps',
          String(o.steps),
          '--batch',
          '8',
          // as zipper ... train records them (at most --steps), so that a run.json's command reads the same
          '--every',
          String(Math.min(200, o.steps)),
          '--eval-every',
          String(Math.min(500, o.steps)),
          '--workers',
          '1',
          ...m.args,
        ],
        evals: [
          ...['test-clean', 'test-other'].map((split) => ({
            id: `asr ${split}`,
            args: ['eval', 'asr', '--split', split],
            dir: ['eval', split, 'asr'],
          })),
          // a CTC head: greedy, and the lexicon search with the text tower package's word LM (the apps' default)
          ...(m.args.includes('--ctc-weight')
            ? ['ctc', 'lexicon'].flatMap((decoder) =>
                ['test-clean', 'test-other'].map((split) => ({
                  id: `asr-${decoder} ${split}`,
                  args: ['eval', 'asr', '--split', split, '--decoder', decoder],
                  dir: ['eval', split, `asr-${decoder}`],
                })),
              )
            : []),
          {
            id: 'tts test-clean',
            args: ['eval', 'tts', '--split', 'test-clean', '--seeds', '0,1,2', '--limit', String(o.ttsLimit)],
            dir: ['eval', 'test-clean', 'tts'],
          },
          // the run on its own pairs (memorization or underfitting; docs/eval.md "Memorization"): ASR on up to 200, TTS on --tts-limit with seed 0
          { id: 'asr train', args: ['eval', 'asr', '--split', 'train', '--limit', '200'], dir: ['eval', 'train', 'asr'] },
          {
            id: 'tts train',
            args: ['eval', 'tts', '--split', 'train', '--seeds', '0', '--limit', String(o.ttsLimit)],
            dir: ['eval', 'train', 'tts'],
          },
        ],
      });
    }
  return o.only ? runs.filter((r) => o.only.includes(r.name)) : runs;
}

/**
 * Whether a run's training started (run.json), the last step in its loss.jsonl, and whether it
 * finished (grid-trained.json, written when `zipper ... train` reported `finished`).
 */
export function trainingState(run) {
  const loss = path.join(run.out, 'loss.jsonl');
  if (!fs.existsSync(path.join(run.out, 'run.json')) || !fs.existsSync(loss)) return { started: false, step: 0, finished: false };
  let step = 0;
  for (const l of fs.readFileSync(loss, 'utf8').trim().split('\n').filter(Boolean)) step = Math.max(step, JSON.parse(l).step ?? 0);
  return { started: true, step, finished: fs.existsSync(path.join(run.out, 'grid-trained.json')) };
}

/**
 * The step a run's record in `records` reached, if that record holds the training marker and
 * every evaluation of the run; undefined otherwise (no --records, no record, or one that lacks some).
 */
export function recordedStep(run, records) {
  if (!records) return undefined;
  const dir = path.join(records, run.name);
  const marker = path.join(dir, 'grid-trained.json');
  if (!fs.existsSync(path.join(dir, 'record.json')) || !fs.existsSync(marker)) return undefined;
  if (!run.evals.every((e) => fs.existsSync(path.join(dir, ...e.dir, 'metrics.json')))) return undefined;
  return JSON.parse(fs.readFileSync(marker, 'utf8')).step;
}

/** A zipper command's options as option -> values, towers, data and output aside (machine paths). */
export function commandOptions(words) {
  const m = new Map();
  for (let i = 0; i < words.length; i++) {
    const key = words[i];
    if (!key.startsWith('--')) continue; // the command's words (fuse train)
    const value = words[i + 1] !== undefined && !words[i + 1].startsWith('--') ? words[++i] : '';
    if (!['--tower', '--aligned', '--out'].includes(key)) m.set(key, [...(m.get(key) ?? []), value]);
  }
  return Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * sha256 of a tower's weights as core's loaders read it (openTowerCheckpoint: a checkpoint
 * folder, a package or pretrain output holding tower/, or an installed package's name), with
 * folders and names taken from the repository root as the zipper commands the grid runs take them.
 */
async function towerSha256(location) {
  const { openModelFiles, openTowerCheckpoint } = await import('@zipper/core'); // built with the CLI
  const folder = path.resolve(root, location);
  try {
    const files = openModelFiles(fs.existsSync(folder) ? folder : location, { from: root });
    return (await openTowerCheckpoint(files)).info.metadata.weights.sha256;
  } catch (e) {
    throw new GridError(`tower ${location}: ${e.message}`);
  }
}

/**
 * Checks that the finished run in DIR is the grid's RUN (see --reuse) and returns its last step;
 * throws GridError saying what differs.
 */
export async function checkReuse(run, dir, o) {
  const file = path.join(dir, 'run.json');
  if (!fs.existsSync(file)) throw new GridError(`--reuse ${run.name}=${dir}: no run.json there`);
  const got = JSON.parse(fs.readFileSync(file, 'utf8'));
  const want = commandOptions(run.train);
  const have = commandOptions(String(got.command ?? '').split(/\s+/));
  const keys = [...new Set([...Object.keys(want), ...Object.keys(have)])].filter(
    (k) => JSON.stringify(want[k]) !== JSON.stringify(have[k]),
  );
  if (keys.length)
    throw new GridError(
      `--reuse ${run.name}=${dir}: its command differs from the grid's in ${keys.map((k) => `${k} (${have[k]?.join(' ') ?? 'absent'} vs ${want[k]?.join(' ') ?? 'absent'})`).join(', ')}`,
    );
  for (const [name, location] of [
    ['text', o.text],
    ['speech', o.speech],
  ]) {
    const sha = await towerSha256(location);
    if (got.towers?.[name]?.sha256 !== sha)
      throw new GridError(
        `--reuse ${run.name}=${dir}: its ${name} tower has sha256 ${got.towers?.[name]?.sha256 ?? '?'}, the grid's (${location}) ${sha}`,
      );
  }
  if (path.resolve(got.data?.dir ?? '') !== o.data)
    throw new GridError(`--reuse ${run.name}=${dir}: trained on ${got.data?.dir}, the grid's data is ${o.data}`);
  const s = trainingState({ out: dir });
  if (s.step < o.steps || !fs.existsSync(path.join(dir, 'model')))
    throw new GridError(`--reuse ${run.name}=${dir}: trained to step ${s.step} of ${o.steps} (or no model/); finish it first`);
  return s.step;
}

function parseArgs(argv) {
  const o = { steps: 3000, minutes: Infinity, ttsLimit: 48, plan: false, only: undefined, reuse: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new GridError(`${a} needs a value`);
      return v;
    };
    if (a === '--data') o.data = path.resolve(next());
    else if (a === '--out') o.out = path.resolve(next());
    else if (a === '--steps') o.steps = Number(next());
    else if (a === '--minutes') o.minutes = Number(next());
    else if (a === '--tts-limit') o.ttsLimit = Number(next());
    else if (a === '--text') o.text = next();
    else if (a === '--speech') o.speech = next();
    else if (a === '--only') o.only = next().split(',');
    else if (a === '--reuse') {
      const v = next();
      const eq = v.indexOf('=');
      if (eq < 1) throw new GridError(`--reuse wants NAME=RUN, got ${v}`);
      o.reuse.set(v.slice(0, eq), path.resolve(v.slice(eq + 1)));
    } else if (a === '--records') o.records = path.resolve(next());
    else if (a === '--plan') o.plan = true;
    else
      throw new GridError(
        `unknown option ${a}; usage: node tools/eval/grid.mjs --data DIR --out DIR [--steps N] [--minutes M] [--only NAME,...] [--reuse NAME=RUN ...] [--records DIR] [--plan]`,
      );
  }
  if (!o.data || !o.out) throw new GridError('--data DIR (a zipper data build) and --out DIR (the runs) are required');
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new GridError(`--steps must be an integer >= 1, got ${o.steps}`);
  if (!(o.minutes >= 0)) throw new GridError(`--minutes must be >= 0, got ${o.minutes}`);
  if (!Number.isInteger(o.ttsLimit) || o.ttsLimit < 1) throw new GridError(`--tts-limit must be an integer >= 1, got ${o.ttsLimit}`);
  o.text ??= '@zipper/checkpoint-text-small';
  o.speech ??= '@zipper/checkpoint-speech-small';
  const names = gridRuns({ ...o, only: undefined }).map((r) => r.name);
  for (const [flag, list] of [
    ['--only', o.only ?? []],
    ['--reuse', [...o.reuse.keys()]],
  ]) {
    const bad = list.filter((n) => !names.includes(n));
    if (bad.length) throw new GridError(`${flag} names ${bad.join(', ')}, not runs of the grid (${names.join(', ')})`);
  }
  return o;
}

const log = (s) => process.stderr.write(`grid: ${s}\n`);

/** Runs `zipper ARGS`, output to stderr; returns its stdout's last line parsed as JSON (or null). */
function zipper(args) {
  log(`zipper ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [ZIPPER, ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new GridStepError(`zipper ${args.slice(0, 2).join(' ')} failed (exit ${r.status}); its message is above`);
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last);
  } catch {
    return null;
  }
}

export async function main(argv) {
  const o = parseArgs(argv);
  const runs = gridRuns(o);
  if (o.plan) {
    const zipped = runs.filter((r) => r.model.kind === 'fuse').length;
    for (const r of runs) console.log(`${r.name}\t${r.model.what}\n  zipper ${r.train.join(' ')}`);
    const hours = (zipped * o.steps) / ZIPPED_STEPS_PER_MINUTE / 60;
    console.log(
      JSON.stringify({
        runs: runs.length,
        steps: o.steps,
        batch: 8,
        zippedRuns: zipped,
        zippedTrainingHours: +hours.toFixed(1),
        zippedStepsPerMinute: ZIPPED_STEPS_PER_MINUTE,
      }),
    );
    return 0;
  }
  if (!fs.existsSync(ZIPPER))
    throw new GridError(`${ZIPPER} is missing; build the CLI first (npx turbo run build --filter=@zipper/cli...)`);
  fs.mkdirSync(o.out, { recursive: true });
  for (const run of runs.filter((r) => o.reuse.has(r.name))) {
    const dir = o.reuse.get(run.name);
    const step = await checkReuse(run, dir, o);
    if (fs.existsSync(run.out) && fs.realpathSync(run.out) === fs.realpathSync(dir)) continue;
    if (fs.existsSync(run.out)) throw new GridError(`--reuse ${run.name}=${dir}: ${run.out} exists already and is another run`);
    fs.symlinkSync(dir, run.out, 'dir');
    fs.writeFileSync(path.join(run.out, 'grid-trained.json'), `${JSON.stringify({ step, reused: dir, at: new Date().toISOString() })}\n`);
    log(`${run.name} is ${dir} (the same command, towers and data, trained to step ${step}); not trained again`);
  }
  const t0 = Date.now();
  const left = () => o.minutes - (Date.now() - t0) / 60_000;
  const summary = [];
  let stopped = false;
  for (const run of runs) {
    const recorded = recordedStep(run, o.records);
    if (recorded !== undefined) {
      summary.push({ name: run.name, trained: true, step: recorded, steps: o.steps, evals: run.evals.map((e) => e.id), record: true });
      continue;
    }
    const s = trainingState(run);
    const done = [];
    if (!stopped && !s.finished) {
      if (left() <= 0) stopped = true;
      else {
        const chunk = Number.isFinite(left()) ? ['--minutes', left().toFixed(2)] : [];
        const kind = run.model.kind === 'fuse' ? 'fuse' : 'baseline';
        const r = s.started
          ? zipper([kind, 'train', '--out', run.out, '--resume', '--no-progress', ...chunk])
          : zipper([...run.train, '--no-progress', ...chunk]);
        if (r?.finished)
          fs.writeFileSync(
            path.join(run.out, 'grid-trained.json'),
            `${JSON.stringify({ step: r.step, tokens: r.tokens, at: new Date().toISOString() })}\n`,
          );
        else stopped = true;
      }
    }
    const trained = fs.existsSync(path.join(run.out, 'grid-trained.json'));
    for (const e of run.evals) {
      const metrics = path.join(run.out, ...e.dir, 'metrics.json');
      if (fs.existsSync(metrics)) done.push(e.id);
      else if (trained && !stopped && left() > 0) {
        zipper([...e.args, '--model', run.out, '--data', o.data, '--out', path.join(run.out, ...e.dir), '--json']);
        done.push(e.id);
      }
    }
    const record = Boolean(o.records && trained && done.length === run.evals.length);
    if (record) zipper(['eval', 'record', '--run', run.out, '--out', path.join(o.records, run.name), '--json']);
    summary.push({ name: run.name, trained, step: trainingState(run).step, steps: o.steps, evals: done, record });
  }
  const all = summary.every((r) => r.trained && r.evals.length === runs.find((x) => x.name === r.name).evals.length);
  if (all)
    log(
      `every run is trained and evaluated; the report: zipper eval report ${runs.map((r) => `--runs ${o.records ? path.join(o.records, r.name) : r.out}`).join(' ')} --out docs/results.md`,
    );
  console.log(JSON.stringify({ runs: summary, done: all }));
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (e) {
    console.error(e instanceof GridError || e instanceof GridStepError ? `grid: ${e.message}` : e);
    process.exitCode = e instanceof GridError ? 2 : 1;
  }
}
