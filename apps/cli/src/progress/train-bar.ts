/**
 * A training progress bar on stderr: step, loss, held-out loss, tokens/s and ETA. On a terminal
 * it redraws one line at most every 200 ms; otherwise (a log file, CI) it prints a plain line
 * every `plainEvery` steps and at the last step.
 *
 *   step 1200/9000 [####..........................] 13.3% loss 3.412 held-out 3.530 | 3,912 tok/s | elapsed 5m12s eta 33m40s
 *
 * With per-stream losses (a zipped model), each loss is followed by its streams:
 *   ... loss 3.412 (text 2.101 speech 4.301) held-out 3.530 (text 2.230 speech 4.402) | ...
 */
import type { StreamLosses } from './loss-log.js';

export interface TrainBarOptions {
  readonly totalSteps: number;
  /** Step the bar starts at (a resumed run); rates count only this invocation's steps. */
  readonly startStep: number;
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Plain (non-TTY) mode: print every this many steps (default: about 100 lines per run). */
  readonly plainEvery?: number;
  readonly enabled?: boolean;
}

export class TrainBar {
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  private readonly tty: boolean;
  private readonly plainEvery: number;
  private readonly t0 = Date.now();
  private lastDraw = 0;
  private tokens = 0;
  private step: number;
  private loss = NaN;
  private heldOut: number | undefined;
  private streams: StreamLosses | undefined;
  private heldOutStreams: StreamLosses | undefined;

  constructor(private readonly o: TrainBarOptions) {
    this.stream = o.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.step = o.startStep;
    this.plainEvery = o.plainEvery ?? Math.max(1, Math.round(o.totalSteps / 100));
  }

  /** After each step: its number, loss, input tokens and (several streams) the latest loss of each stream. */
  update(step: number, loss: number, tokens: number, streams?: StreamLosses): void {
    this.step = step;
    this.loss = loss;
    this.streams = streams;
    this.tokens += tokens;
    if (this.o.enabled === false) return;
    const now = Date.now();
    const last = step === this.o.totalSteps;
    if (this.tty) {
      if (now - this.lastDraw < 200 && !last) return;
      this.lastDraw = now;
      this.stream.write(`\r${this.render(now)}\x1b[K${last ? '\n' : ''}`);
    } else if (step % this.plainEvery === 0 || last) {
      this.stream.write(`${this.render(now)}\n`);
    }
  }

  setHeldOut(loss: number, streams?: StreamLosses): void {
    this.heldOut = loss;
    this.heldOutStreams = streams;
  }

  /** A message on its own line (the bar is redrawn after it on a terminal). */
  note(message: string): void {
    if (this.o.enabled === false) return;
    this.stream.write(`${this.tty ? '\r\x1b[K' : ''}${message}\n`);
    this.lastDraw = 0;
  }

  render(now = Date.now()): string {
    const { totalSteps, startStep } = this.o;
    const width = 30;
    const frac = totalSteps ? this.step / totalSteps : 1;
    const filled = Math.min(width, Math.round(frac * width));
    const secs = (now - this.t0) / 1000;
    const done = this.step - startStep;
    const rate = secs > 0 ? this.tokens / secs : 0;
    const eta = done > 0 ? ((totalSteps - this.step) * secs) / done : NaN;
    const per = (s: StreamLosses | undefined) =>
      s && Object.keys(s).length > 0
        ? ` (${Object.entries(s)
            .map(([k, v]) => `${k} ${v.toFixed(3)}`)
            .join(' ')})`
        : '';
    const held = this.heldOut === undefined ? '' : ` held-out ${this.heldOut.toFixed(3)}${per(this.heldOutStreams)}`;
    return (
      `step ${this.step}/${totalSteps} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(100 * frac).toFixed(1)}% ` +
      `loss ${Number.isFinite(this.loss) ? this.loss.toFixed(3) : '-'}${per(this.streams)}${held} | ${Math.round(rate).toLocaleString('en-US')} tok/s | elapsed ${duration(secs)} eta ${Number.isFinite(eta) ? duration(eta) : '-'}`
    );
  }
}

/** 75 -> "1m15s", 4000 -> "1h06m40s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m${String(r).padStart(2, '0')}s`;
  return m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}
