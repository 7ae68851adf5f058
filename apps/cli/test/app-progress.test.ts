/**
 * The apps' progress line (src/apps/progress.ts): on a terminal one line rewritten in place and
 * cleared before the result; anywhere else (a pipe, a log, a test) nothing at all.
 */
import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { appProgress } from '../src/apps/progress.js';

function sink(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  }) as unknown as NodeJS.WriteStream & { text: () => string };
  Object.assign(w, { isTTY, text: () => chunks.join('') });
  return w;
}

it('rewrites one line on a terminal and clears it; writes nothing elsewhere', async () => {
  const tty = sink(true);
  const p = appProgress(tty);
  p.update('decoding 10 units');
  p.update('decoding 20 units');
  p.done();
  p.done(); // a second done writes nothing more
  await new Promise((r) => setImmediate(r));
  expect(tty.text()).toBe('\r\x1b[2Kdecoding 10 units\r\x1b[2Kdecoding 20 units\r\x1b[2K');

  const pipe = sink(false);
  const q = appProgress(pipe);
  q.update('decoding 10 units');
  q.done();
  await new Promise((r) => setImmediate(r));
  expect(pipe.text()).toBe('');
});
