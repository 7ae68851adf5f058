/**
 * `zipper fuse soup --runs A,B[,...] [--weights wA,wB,...] --out DIR` (zipped or baseline runs):
 * a run directory whose weights are a weighted average of the runs' (@zipper/core averageWeights;
 * a model soup, Wortsman et al. 2022, ICML), default equal weights. The runs must have started
 * from the same weights (`--init-from`, the same sha256): fine-tunings of one start stay close
 * enough for their average to work, and the model card's history before them is then one chain.
 *
 * DIR reads as a run: run.json is the first run's plus `soup` (each part's folder, weights
 * sha256, weight, training command and data build; this command), model/ holds the average
 * (float32), and the first run's loss.jsonl, sessions.jsonl and loss.svg are copied. So
 * `zipper eval asr|tts --model DIR` and `zipper fuse release --run DIR` take it; the card names
 * every part's training command (`PART_1`, `PART_2`, ...) and then this one. Every part's weights
 * are checked against their sha256 before and after reading. A soup is not a source of another
 * soup, an interpolation or a warm start (release it first and start from the package).
 */
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { replaceDirAtomic, writeFileAtomic } from '@zipper/common/node';
import { averageWeights } from '@zipper/core';
import { buildArgs, type BuildRef } from '@zipper/data';
import { UsageError } from '../command.js';
import { readRun } from '../eval/report-runs.js';
import { LOSS_LOG, LOSS_PLOT, SESSIONS_LOG } from '../training/session.js';
import { loadVerifiedModel, type VerifiedModel } from './init-from.js';
import { unfinishedReason } from './finished.js';
import { MODEL_DIR, outOf, type FuseRun } from './run-file.js';

/** One run of a soup, as run.json's `soup.parts` records it. */
export interface SoupPart {
  /** The run folder (absolute). */
  readonly run: string;
  /** sha256 over its model/*.safetensors when they were read (modelWeightsSha256). */
  readonly sha256: string;
  /** Its weight in the average. */
  readonly weight: number;
  /** The command that trained it (its run.json's). */
  readonly command: string;
  /** The folder it started from (`--init-from`; every part's has the same weights). */
  readonly initFrom: string;
  /** Its data build. */
  readonly data: BuildRef;
}

/** What run.json of a soup records (`soup`). */
export interface Soup {
  readonly parts: readonly SoupPart[];
  /** The command that made this directory from the parts. */
  readonly command: string;
}

export interface SoupOptions {
  readonly runs: readonly string[];
  /** One per run, summing to 1 (absent: equal). */
  readonly weights?: readonly number[];
  readonly out: string;
}

/** The placeholder of part `i` (0-based) in a model card: `PART_1`, `PART_2`, ... . */
export const partLabel = (i: number): string => `PART_${i + 1}`;

/** The average as a card writes it: "0.5 x PART_1 + 0.5 x PART_2 per weight". */
export const soupText = (soup: Pick<Soup, 'parts'>): string =>
  `${soup.parts.map((p, i) => `${p.weight} x ${partLabel(i)}`).join(' + ')} per weight`;

/** "PART_1 and PART_2", "PART_1, PART_2 and PART_3". */
export const partsText = (soup: Pick<Soup, 'parts'>): string => {
  const labels = soup.parts.map((_, i) => partLabel(i));
  return `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)}`;
};

/** Why `run` (a run read from `dir`) cannot be a part of a soup; undefined when it can. */
function refusal(dir: string, run: FuseRun): string | undefined {
  if (run.soup) return `${dir} is a soup already (of ${run.soup.parts.map((p) => p.run).join(', ')}); list its parts instead`;
  if (run.interpolate) return `${dir} is an interpolation (of ${run.interpolate.run}); a soup averages trained runs`;
  if (run.best)
    return `${dir} is the --keep-best copy of a run (step ${run.best.step}); pass a run folder (e.g. its run trained again with --until-step ${run.best.step})`;
  if (!run.initFrom)
    return `${dir} started from a fresh initialization (no --init-from): a soup averages fine-tunings of one start; train the runs with --init-from the same source`;
  return undefined;
}

export async function soupRuns(o: SoupOptions, log: (s: string) => void): Promise<string> {
  const dirs = o.runs.map((r) => path.resolve(r));
  const out = path.resolve(o.out);
  if (dirs.length < 2) throw new UsageError(`--runs needs at least two run folders (comma-separated), got ${dirs.length}`);
  if (new Set(dirs).size !== dirs.length) throw new UsageError(`--runs names a folder twice: ${dirs.join(', ')}`);
  if (dirs.includes(out)) throw new UsageError('--out must be a new directory, not one of --runs (its weights would be replaced)');
  const weights = o.weights ?? dirs.map(() => 1 / dirs.length);
  if (weights.length !== dirs.length)
    throw new UsageError(`--weights gives ${weights.length} weights for ${dirs.length} runs; give one per run, in --runs order`);
  const sum = weights.reduce((a, w) => a + w, 0);
  if (Math.abs(sum - 1) > 1e-9) throw new UsageError(`--weights must sum to 1, got ${weights.join(' + ')} = ${sum}`);
  const summaries = dirs.map((d) => readRun(d));
  for (const [i, s] of summaries.entries()) {
    const why = refusal(dirs[i]!, s.run) ?? unfinishedReason(s, undefined);
    if (why) throw new UsageError(why);
  }
  const [first, ...rest] = summaries.map((s) => s.run);
  for (const [i, r] of rest.entries()) {
    const dir = dirs[i + 1]!;
    if (r.initFrom!.sha256 !== first!.initFrom!.sha256)
      throw new UsageError(
        `${dir} started from other weights (sha256 ${r.initFrom!.sha256.slice(0, 12)}..., ${r.initFrom!.dir}) than ${dirs[0]} (${first!.initFrom!.sha256.slice(0, 12)}..., ${first!.initFrom!.dir}); a soup averages fine-tunings of one start`,
      );
    if (r.kind !== first!.kind) throw new UsageError(`${dir} is a ${r.kind} run, ${dirs[0]} a ${first!.kind} run`);
    for (const m of Object.keys(first!.towers) as (keyof FuseRun['towers'])[])
      if (r.towers[m]?.sha256 !== first!.towers[m].sha256)
        throw new UsageError(
          `${dir} has another ${m} tower (sha256 ${r.towers[m]?.sha256.slice(0, 12)}...) than ${dirs[0]} (${first!.towers[m].sha256.slice(0, 12)}...)`,
        );
  }
  const models: VerifiedModel[] = [];
  try {
    for (const [i, d] of dirs.entries()) models.push(await loadVerifiedModel(d, d, { run: summaries[i]!.run }));
    const mixed = averageWeights(
      models.map((m) => m.trained.model.params),
      weights,
    );
    const target = models[0]!.trained.model;
    for (const [k, p] of target.params) p.assign(mixed.get(k)!);
    for (const t of mixed.values()) t.dispose();
    const soup: Soup = {
      parts: summaries.map((s, i) => ({
        run: dirs[i]!,
        sha256: models[i]!.sha256,
        weight: weights[i]!,
        command: s.run.command,
        initFrom: s.run.initFrom!.dir,
        data: s.run.data,
      })),
      command: `zipper fuse soup --runs ${dirs.join(',')}${o.weights ? ` --weights ${weights.join(',')}` : ''} --out ${out}`,
    };
    const made: FuseRun = { ...first!, soup };
    await replaceDirAtomic(out, async (dir) => {
      await target.save(path.join(dir, MODEL_DIR));
      await writeFileAtomic(path.join(dir, 'run.json'), `${JSON.stringify(made, null, 2)}\n`);
      for (const f of [LOSS_LOG, SESSIONS_LOG, LOSS_PLOT])
        if (existsSync(path.join(dirs[0]!, f))) copyFileSync(path.join(dirs[0]!, f), path.join(dir, f));
    });
  } finally {
    for (const m of models) m.trained.dispose();
  }
  log(`averaged ${weights.map((w, i) => `${w} x ${dirs[i]}`).join(' + ')} into ${out}`);
  return out;
}

/**
 * A soup's part of a model card: the placeholders of the parts' folders (and their data builds,
 * where not the card's `DATA`) for `machine`, the parts' training commands then the soup's, and
 * the lines naming `PART_1`, ... .
 */
export function soupCard(
  soup: Soup,
  dataSha256: string,
): { readonly machine: Record<string, string>; readonly commands: string[]; readonly legend: string[] } {
  const machine: Record<string, string> = {};
  const legend: string[] = [];
  for (const [i, p] of soup.parts.entries()) {
    const label = partLabel(i);
    machine[p.run] = label;
    machine[p.initFrom] = 'INIT';
    const wrote = outOf(p.command);
    if (wrote !== undefined) machine[wrote] ??= label; // a part moved before the soup was made
    const own = p.data.buildSha256 !== dataSha256;
    if (own) machine[p.data.dir] = `${label}_DATA`;
    legend.push(
      `\`${label}\`: the run trained by the command with \`--out ${label}\`, from \`INIT\`${own ? ` on \`${label}_DATA\` = \`zipper data build ${buildArgs(p.data)}\` (build.json sha256 \`${p.data.buildSha256}\`)` : ''} (weights sha256 \`${p.sha256}\`).`,
    );
  }
  legend.push(`\`OUT\`: ${soupText(soup)} (\`zipper fuse soup\`, the last command: a model soup of ${partsText(soup)}).`);
  return { machine, commands: [...soup.parts.map((p) => p.command), soup.command], legend };
}
