/** A one-line progress bar on a stream (stderr), redrawn at most every 200 ms. */
export class Progress {
  private done = 0;
  private last = 0;
  private readonly start = Date.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
    private readonly enabled = true,
  ) {}

  tick(n = 1): void {
    this.done += n;
    const now = Date.now();
    if (!this.enabled) return;
    const tty = this.stream.isTTY === true;
    // Without a terminal, print a plain line every 5% instead of redrawing.
    if (tty ? now - this.last < 200 && this.done < this.total : Math.floor((20 * this.done) / this.total) === Math.floor((20 * (this.done - n)) / this.total) && this.done < this.total) return;
    this.last = now;
    this.stream.write(`${tty ? '\r' : ''}${this.render(now)}${tty && this.done < this.total ? '' : '\n'}`);
  }

  render(now = Date.now()): string {
    const width = 30;
    const frac = this.total ? this.done / this.total : 1;
    const filled = Math.round(frac * width);
    const secs = (now - this.start) / 1000;
    const rate = secs > 0 ? this.done / secs : 0;
    const eta = rate > 0 ? (this.total - this.done) / rate : 0;
    return `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} ${(100 * frac).toFixed(1)}% ${rate.toFixed(1)}/s elapsed ${fmt(secs)} eta ${fmt(eta)}`;
  }
}

function fmt(seconds: number): string {
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
