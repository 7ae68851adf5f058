/**
 * The training progress bar (src/progress/train-bar.ts), rendered into a fake stream: on a
 * terminal it redraws one line (carriage return, erase to end) with step, per-stream losses,
 * held-out losses, tokens/s and ETA; in a log it prints plain lines every `plainEvery` steps and
 * at the last; disabled it prints nothing.
 */
import { Writable } from 'node:stream';
import { expect, it, vi } from 'vitest';
import { duration, TrainBar } from '../src/progress/train-bar.js';

function sink(isTTY: boolean): Writable & { isTTY: boolean; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  }) as Writable & { isTTY: boolean; text: () => string };
  w.isTTY = isTTY;
  w.text = () => chunks.join('');
  return w;
}

it('renders step, per-stream and held-out losses, tokens/s and ETA, on a terminal and in a log', () => {
  vi.useFakeTimers({ now: 0 });
  try {
    const tty = sink(true);
    const bar = new TrainBar({ totalSteps: 100, startStep: 40, stream: tty });
    vi.setSystemTime(10_000); // 10 s for 10 steps of 1,352 tokens: 1,352 tok/s, 50 steps left = 50 s
    bar.setHeldOut(3.5, { text: 2.25, speech: 4.75 });
    bar.update(50, 3.412, 13_520, { text: 2.101, speech: 4.301 });
    expect(tty.text()).toBe(
      '\rstep 50/100 [###############...............] 50.0% loss 3.412 (text 2.101 speech 4.301) held-out 3.500 (text 2.250 speech 4.750) | 1,352 tok/s | elapsed 10s eta 50s\x1b[K',
    );
    bar.update(51, 3.4, 1_352); // within 200 ms of the last draw: not redrawn
    expect(tty.text().split('\r').length).toBe(2);
    vi.setSystemTime(20_000);
    bar.note('checkpoint step-00000051');
    expect(tty.text()).toContain('\r\x1b[Kcheckpoint step-00000051\n');
    vi.setSystemTime(30_000);
    bar.update(100, 2.0, 1_352); // the last step always draws, and ends the line
    expect(tty.text().endsWith('eta 0s\x1b[K\n')).toBe(true);

    const log = sink(false);
    const plain = new TrainBar({ totalSteps: 10, startStep: 0, stream: log, plainEvery: 4 });
    for (let s = 1; s <= 10; s++) plain.update(s, 5 - s / 10, 100);
    const lines = log.text().trimEnd().split('\n');
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['4/10', '8/10', '10/10']);
    expect(lines.every((l) => !l.includes('\r') && !l.includes('\x1b'))).toBe(true);

    const off = sink(true);
    const quiet = new TrainBar({ totalSteps: 10, startStep: 0, stream: off, enabled: false });
    quiet.update(10, 1, 1);
    quiet.note('x');
    expect(off.text()).toBe('');
  } finally {
    vi.useRealTimers();
  }
  expect([duration(75), duration(4000), duration(9)]).toEqual(['1m15s', '1h06m40s', '9s']);
});
