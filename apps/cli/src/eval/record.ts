/**
 * `zipper eval record`: what `zipper eval report` reads of a run (or of a `zipper eval peer`
 * output), copied into a folder small enough to commit, so that a finished run's results outlive
 * the machine that trained it (a run's folder holds hundreds of MB of weights and checkpoints and
 * lives in git-ignored space). The record has the run's layout, so `zipper eval report --runs
 * RECORD` reads it like the run:
 *
 *   run.json, loss.jsonl, sessions.jsonl, grid-trained.json, ...   the run root's .json/.jsonl/.txt
 *   loss.svg                       the run's loss plot (a package's; with the run's model/ the record releases again)
 *   eval/SPLIT/TASK/{metrics.json, ref.txt, hyp*.txt, target.txt, utterances.jsonl, ...}
 *   eval/SPLIT/tts/wav/*.wav       only the WAVs the report links: the first --samples kept
 *                                  utterances of test-clean's TTS evaluation (else test-other's, dev's)
 *   record.json                    where it came from, and every file's size and sha256
 *
 * Never weights, checkpoints or other folders. Written atomically (a crash leaves the old record or
 * none); a folder at --out that is not a record is refused rather than replaced.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { sha256Hex, writeDirAtomic } from '@zipper/common/node';
import { intArg, parse } from '../args.js';
import { UsageError } from '../command.js';
import { METRICS_FILE } from './outputs.js';
import { LOSS_PLOT } from '../training/session.js';
import { SAMPLE_SPLITS } from './report-runs.js';

export const RECORD_USAGE = `usage: zipper eval record --run DIR --out DIR [--samples N] [--json]

Copies what zipper eval report reads of a run (the --out of zipper fuse train or zipper baseline
train, or a zipper eval peer output) into --out, small enough to commit: the run root's .json,
.jsonl and .txt files (run.json, loss.jsonl, sessions.jsonl, ...) and its loss.svg, every eval/SPLIT/TASK/ folder's
.json, .jsonl and .txt files (but the TTS evaluations' units.seedN.txt), the WAVs the report links (the first --samples, default 1, kept
utterances of the test-clean TTS evaluation, else test-other's or dev's), and record.json (the
source, every file's size and sha256; a copy of a record keeps its source and is listed in via). Never weights or checkpoints. zipper eval report reads the
record like the run, and zipper fuse release releases it again once the run's model/ (or its
package's, float16) is copied in. Atomic; an existing --out must be an earlier record.`;

const OPTIONS = {
  run: { type: 'string' },
  out: { type: 'string' },
  samples: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The record's own manifest file. */
export const RECORD_FILE = 'record.json';
const KEPT = /\.(json|jsonl|txt)$/;
/** TTS evaluations' sampled units (units.seedN.txt): what the audio was made of, not what the report reads; left out. */
const UNITS = /^units\.seed\d+\.txt$/;

/** The files a record of run folder `dir` keeps: paths relative to it, '/'-separated, sorted. */
export function recordFiles(dir: string, samples: number): string[] {
  const files = (rel: string) =>
    readdirSync(path.join(dir, rel), { withFileTypes: true })
      .filter(
        (e) =>
          e.isFile() &&
          ((KEPT.test(e.name) && !UNITS.test(e.name) && !(rel === '' && e.name === RECORD_FILE)) || (rel === '' && e.name === LOSS_PLOT)),
      )
      .map((e) => (rel === '' ? e.name : `${rel}/${e.name}`));
  const subdirs = (rel: string) =>
    existsSync(path.join(dir, rel))
      ? readdirSync(path.join(dir, rel), { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => `${rel}/${e.name}`)
      : [];
  const out = files('');
  for (const split of subdirs('eval')) for (const task of subdirs(split)) out.push(...files(task));
  // the WAVs zipper eval report links: its sample split's TTS evaluation, the first --samples utterances that kept some
  const task = SAMPLE_SPLITS.map((s) => `eval/${s}/tts`).find((t) => existsSync(path.join(dir, t, METRICS_FILE)));
  if (samples > 0 && task !== undefined) {
    const utterances = path.join(dir, task, 'utterances.jsonl');
    if (existsSync(utterances)) {
      const rows = readFileSync(utterances, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { wavs?: unknown })
        .filter((x) => Array.isArray(x.wavs) && x.wavs.length > 0)
        .slice(0, samples);
      for (const x of rows)
        for (const w of x.wavs as unknown[]) {
          if (typeof w !== 'string' || w.split('/').includes('..') || path.isAbsolute(w)) continue;
          if (existsSync(path.join(dir, task, w))) out.push(`${task}/${w}`);
        }
    }
  }
  return out.sort();
}

export async function runEvalRecord(argv: readonly string[]): Promise<number> {
  const { values: v } = parse(argv, OPTIONS, RECORD_USAGE);
  if (v.help) {
    console.log(RECORD_USAGE);
    return 0;
  }
  if (!v.run || !v.out) throw new UsageError(`--run and --out are required\n\n${RECORD_USAGE}`);
  const samples = intArg(v.samples, 'samples', 1, 0);
  const src = path.resolve(v.run);
  const out = path.resolve(v.out);
  checkRecordSource(src, `--run ${v.run}`);
  checkRecordTarget(src, out, `--out ${v.out}`);
  const written = await writeRecord(src, out, samples);
  process.stderr.write(`recorded ${src} in ${out}: ${written.files} files, ${(written.bytes / 1e6).toFixed(2)} MB\n`);
  if (v.json) console.log(JSON.stringify({ out, source: src, files: written.files, bytes: written.bytes }));
  return 0;
}

/** `src` is a run folder (run.json) or a zipper eval peer output (metrics.json); a UsageError naming `what` otherwise. */
export function checkRecordSource(src: string, what: string): void {
  if (!existsSync(path.join(src, 'run.json')) && !existsSync(path.join(src, METRICS_FILE)))
    throw new UsageError(`${what}: neither run.json (a training run) nor ${METRICS_FILE} (a zipper eval peer output) inside`);
}

/**
 * `out` can take a record of `src`: absent, empty or an earlier record (which it replaces), and
 * outside `src`; a UsageError naming `what` (the flag and its value) otherwise.
 */
export function checkRecordTarget(src: string, out: string, what: string): void {
  if (existsSync(out) && !statSync(out).isDirectory()) throw new UsageError(`${what}: is a file, not a folder`);
  if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(path.join(out, RECORD_FILE)))
    throw new UsageError(`${what}: exists and is not a record (no ${RECORD_FILE}); choose an empty or new folder`);
  if (isWithin(src, out)) throw new UsageError(`${what}: inside the run it records; choose a folder outside it`);
}

/** Whether `child` is `parent` or a folder inside it (both resolved paths). */
export function isWithin(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Where a record keeps the records of peer outputs (`writeRecord`'s `peers`): `peers/NAME/`. */
const RECORD_PEERS = 'peers';

/**
 * Writes the record of `src` (recordFiles) into `out`, atomically, with record.json; each of
 * `peers` (zipper eval peer outputs, by name) recorded under `peers/NAME/` beside it, so that the
 * record holds every input of a release. Checks nothing: checkRecordSource and checkRecordTarget first.
 * The run and each peer are named by `provenanceOf`: a copy of a record (a run restored from its
 * record to release it again, a peer output kept in docs/runs/peer) by the folder first recorded.
 */
export async function writeRecord(
  src: string,
  out: string,
  samples: number,
  peers: Readonly<Record<string, string>> = {},
): Promise<{ readonly files: number; readonly bytes: number }> {
  const read = (dir: string, name: string, as = name) => ({ name: as, data: new Uint8Array(readFileSync(path.join(dir, name))) });
  const files = recordFiles(src, samples).map((name) => read(src, name));
  for (const [name, dir] of Object.entries(peers))
    files.push(...recordFiles(dir, 0).map((f) => read(dir, f, `${RECORD_PEERS}/${name}/${f}`)));
  const manifest = {
    ...provenanceOf(src),
    samples,
    ...(Object.keys(peers).length > 0
      ? { peers: Object.fromEntries(Object.entries(peers).map(([name, dir]) => [name, provenanceOf(dir)])) }
      : {}),
    files: files.map((f) => ({ name: f.name, bytes: f.data.length, sha256: sha256Hex(f.data) })),
  };
  files.push({ name: RECORD_FILE, data: new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`) });
  await writeDirAtomic(out, files);
  return { files: files.length, bytes: files.reduce((a, f) => a + f.data.length, 0) };
}

/** Where a record's contents came from: the folder first recorded, and the copies of its record in between. */
export interface Provenance {
  readonly source: string;
  readonly via?: readonly string[];
}

/**
 * Where the contents of `dir` came from: `dir` itself, or, when `dir` is a copy of a record, the
 * folder that record names (`source`) with the copies in between (`via`, `dir` last). A peer kept
 * inside a record (`RECORD/peers/NAME`, which holds no record.json of its own) is named by that
 * record's `peers` entry. A UsageError when the record.json read is not a record's manifest.
 */
export function provenanceOf(dir: string): Provenance {
  const own = readManifest(path.join(dir, RECORD_FILE));
  const parent = path.dirname(dir);
  const outer =
    own === undefined && path.basename(parent) === RECORD_PEERS ? readManifest(path.join(path.dirname(parent), RECORD_FILE)) : undefined;
  const entry = own ?? (outer?.peers as Record<string, unknown> | undefined)?.[path.basename(dir)];
  if (entry === undefined) return { source: dir };
  const file = own ? path.join(dir, RECORD_FILE) : path.join(path.dirname(parent), RECORD_FILE);
  // records written before 2026-12-07 name a peer by its folder only
  const { source, via = [] } = (typeof entry === 'string' ? { source: entry } : (entry ?? {})) as { source?: unknown; via?: unknown };
  if (typeof source !== 'string' || !Array.isArray(via) || !via.every((x) => typeof x === 'string'))
    throw new UsageError(`${file}: not a record's manifest (no string "source", or a "via" that is not a list of folders)`);
  return { source, via: [...(via as string[]), dir] };
}

/** A record.json's parsed manifest, or undefined when there is no such file; a UsageError when it is not JSON. */
function readManifest(file: string): Record<string, unknown> | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`${file}: not a record's manifest (${(e as Error).message})`);
  }
}
