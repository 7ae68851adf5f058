/**
 * The loss log of a training run: `loss.jsonl`, one line per completed step (`{"step", "tokens",
 * "loss"}`) and one per held-out evaluation (`{"step", "tokens", "heldOut"}`), where `tokens` is
 * the number of training input tokens seen after that step. A model with several output streams
 * (a zipped model: `text`, `speech`) adds `"streams": {"text": 2.1, "speech": 4.3}` to both kinds
 * (a step's streams: those with targets in it). Lines are appended as the run goes;
 * `truncateTo(step)` on resume drops everything after the checkpoint's step (and a torn last line
 * from a kill), so a resumed run's log equals an uninterrupted run's.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '@zipper/common/node';

/** Loss per output stream (mean NLL of its targets), e.g. { text: 2.1, speech: 4.3 }. */
export type StreamLosses = Readonly<Record<string, number>>;

export interface TrainPoint {
  readonly step: number;
  readonly tokens: number;
  readonly loss: number;
  readonly streams?: StreamLosses;
}

export interface HeldOutPoint {
  readonly step: number;
  readonly tokens: number;
  readonly heldOut: number;
  readonly streams?: StreamLosses;
}

export type LossPoint = TrainPoint | HeldOutPoint;

export function isHeldOut(p: LossPoint): p is HeldOutPoint {
  return 'heldOut' in p;
}

export class LossLog {
  constructor(readonly file: string) {}

  /** Every complete line (a torn last line is skipped). */
  read(): LossPoint[] {
    if (!existsSync(this.file)) return [];
    const out: LossPoint[] = [];
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        const p = JSON.parse(line) as LossPoint;
        if (Number.isInteger(p.step)) out.push(p);
      } catch {
        // a line torn by a kill mid-write
      }
    }
    return out;
  }

  append(p: LossPoint): void {
    appendFileSync(this.file, `${JSON.stringify(p)}\n`);
  }

  /** Keeps the points of steps <= `step` (rewritten atomically); returns them. */
  truncateTo(step: number): LossPoint[] {
    const kept = this.read().filter((p) => p.step <= step);
    writeFileAtomicSync(this.file, kept.map((p) => `${JSON.stringify(p)}\n`).join(''));
    return kept;
  }
}
