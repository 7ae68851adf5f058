/**
 * Whether a run reached the end of its schedule: only a finished run is released or averaged (a
 * run stopped by --minutes or a kill holds weights its recipe never meant).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readRun, type RunSummary } from '../eval/report-runs.js';

const n = (x: number) => x.toLocaleString('en-US');

/**
 * Why the run is not finished (undefined when it is): stopped before the end of its schedule,
 * `recipe.steps` or `untilStep` when the release names the stop. OUT/best (`run.best`) is judged
 * by the run folder around it: until that run has finished, a later evaluation may replace the
 * best. (A run past `untilStep` is refusePastUntilStep's.)
 */
export function unfinishedReason(s: RunSummary, untilStep: number | undefined): string | undefined {
  const train = `zipper ${s.run.kind === 'baseline' ? 'baseline' : 'fuse'} train`;
  const best = s.run.best;
  if (best) {
    const parent = path.dirname(s.dir);
    const file = path.join(parent, 'run.json');
    if (!existsSync(file))
      return `${s.dir} is the --keep-best copy of a run (its best evaluation, step ${n(best.step)}), but ${parent} has no run.json: whether that run finished (a later evaluation could have replaced this best) cannot be told; release it inside its run folder`;
    // the run around it, read as the release reads any run (its steps: the last of its loss.jsonl)
    const around = readRun(parent);
    const total = around.run.recipe.steps;
    const reached = around.steps;
    if (reached < total)
      return `${s.dir} is the best evaluation so far (step ${n(best.step)}) of ${parent}, which stopped at step ${n(reached)} of its ${n(total)}-step schedule, so a later evaluation may replace it: continue the run with \`${train} --out ${parent} --resume\` and release again`;
    return undefined;
  }
  const end = untilStep ?? s.run.recipe.steps;
  if (s.steps < end)
    return `${s.dir} stopped at step ${n(s.steps)} of ${untilStep === undefined ? `its ${n(end)}-step schedule` : `its stop at --until-step ${n(end)}`} (--minutes, or a kill, stops a run early): continue it with \`${train} --out ${s.dir} --resume${untilStep === undefined ? '' : ` --until-step ${untilStep}`}\` and release again`;
  return undefined;
}
