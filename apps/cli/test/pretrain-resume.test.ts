// Exact resume of `zipper pretrain`: a run killed (SIGKILL, at whatever moment the log reaches a
// step) twice and resumed each time ends with the same loss log (train + held-out, every step),
// the same loss plot and a byte-identical tower as an uninterrupted run; a speech run killed once
// likewise (its data are unit windows, not text).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PretrainRun } from '../src/pretrain/run-file.js';
import type { LossPoint } from '../src/progress/index.js';
import { CURRENT_SESSION, type SessionRecord } from '../src/training/session.js';
import { buildTinyData, readLosses, repo, runPretrain } from './pretrain-helpers.js';

let data = '';
beforeAll(async () => {
  await initBackend();
  data = await buildTinyData('zipper-pretrain-resume-');
});
afterAll(() => rmSync(data, { recursive: true, force: true }));

const trainLines = (out: string): number => {
  try {
    return readFileSync(path.join(out, 'loss.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"loss"')).length;
  } catch {
    return 0;
  }
};

/** Runs `zipper pretrain ...` from the sources in a child process; SIGKILLs it once the log has `killAt` training steps. */
async function runAndKill(argv: string[], out: string, killAt: number): Promise<number> {
  const child = spawn('npx', ['vite-node', '-c', 'vitest.config.ts', 'apps/cli/src/bin.ts', '--', 'pretrain', ...argv], {
    cwd: repo,
    detached: true,
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  while (!done && trainLines(out) < killAt) await new Promise((r) => setTimeout(r, 5));
  if (done) throw new Error(`the child exited before step ${killAt}; cannot test a kill`);
  process.kill(-child.pid!, 'SIGKILL'); // the whole group: npx, vite-node
  await exited;
  return trainLines(out);
}

describe('zipper pretrain: kill at any moment, --resume', () => {
  it('killed twice and resumed equals an uninterrupted run (losses every step, plot, final weights)', async () => {
    const straight = path.join(data, 'straight');
    const a = await runPretrain(['text', '--data', data, '--preset', 'tiny', '--out', straight, '--workers', '0', '--no-progress']);
    expect(a.code).toBe(0);

    const killed = path.join(data, 'killed');
    const args = ['text', '--data', data, '--preset', 'tiny', '--out', killed, '--workers', '0', '--no-progress'];
    const first = await runAndKill(args, killed, 25);
    expect(existsSync(path.join(killed, 'tower'))).toBe(false);
    const second = await runAndKill(['text', '--out', killed, '--resume', '--workers', '0', '--no-progress'], killed, 45);
    expect(existsSync(path.join(killed, 'tower'))).toBe(false);
    const b = await runPretrain(['text', '--out', killed, '--resume', '--workers', '0', '--no-progress']);
    expect(b.code).toBe(0);
    expect(b.stderr).toMatch(/resumed from .*step-000000[0-9]0 \(step [1-5]0 of 60\)/);
    expect([first, second]).toEqual([expect.any(Number), expect.any(Number)]);

    expect(readLosses(killed)).toEqual(readLosses(straight));
    expect(readFileSync(path.join(killed, 'loss.svg'), 'utf8')).toBe(readFileSync(path.join(straight, 'loss.svg'), 'utf8'));
    const weights = (dir: string) => readFileSync(path.join(dir, 'tower', 'model.safetensors'));
    expect(Buffer.compare(weights(killed), weights(straight))).toBe(0);
    // three invocations recorded: the two killed ones up to their last checkpoint (moved from
    // session.json by the next resume), each next one continuing from a checkpoint at or after it
    const sessions = readFileSync(path.join(killed, 'sessions.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as SessionRecord);
    expect(sessions.map((x) => x.ended ?? 'normally')).toEqual(['killed', 'killed', 'normally']);
    expect(sessions[0]!.fromStep).toBe(0);
    for (let i = 1; i < sessions.length; i++) expect(sessions[i]!.fromStep).toBeGreaterThanOrEqual(sessions[i - 1]!.toStep);
    for (const x of sessions) {
      expect(x.toStep).toBeGreaterThan(x.fromStep);
      expect(x.seconds).toBeGreaterThan(0);
    }
    expect(sessions[2]!.toStep).toBe(60);
    expect(existsSync(path.join(killed, CURRENT_SESSION))).toBe(false);
    expect(b.stderr).toMatch(/a session killed after step [1-5]0 is recorded in sessions\.jsonl/);
    const card = readFileSync(path.join(killed, 'package', 'README.md'), 'utf8');
    expect(card).toMatch(/min over 3 session\(s\) \(2 killed, counted to their last checkpoint\), covering 60 of the 60 steps/);
  });

  it('speech: killed once and resumed equals an uninterrupted run (losses every step, the tower and its tokenizer)', async () => {
    const straight = path.join(data, 'speech-straight');
    const a = await runPretrain(['speech', '--data', data, '--preset', 'tiny', '--out', straight, '--workers', '0', '--no-progress']);
    expect(a.code).toBe(0);
    const killed = path.join(data, 'speech-killed');
    await runAndKill(['speech', '--data', data, '--preset', 'tiny', '--out', killed, '--workers', '0', '--no-progress'], killed, 25);
    expect(existsSync(path.join(killed, 'tower'))).toBe(false);
    const b = await runPretrain(['speech', '--out', killed, '--resume', '--workers', '0', '--no-progress']);
    expect(b.code).toBe(0);
    expect(b.stderr).toMatch(/resumed from .*step-000000[0-9]0 \(step [1-5]0 of 60\)/);
    expect(readLosses(killed)).toEqual(readLosses(straight));
    for (const f of ['tower/model.safetensors', 'tokenizer/centroids.safetensors', 'tokenizer/speech-tokenizer.json'])
      expect(Buffer.compare(readFileSync(path.join(killed, f)), readFileSync(path.join(straight, f))), f).toBe(0);
  });

  it('--until-step releases the tower part-way without changing the run: same losses, the card names the stop, the run continues to the uninterrupted end', async () => {
    const straight = path.join(data, 'straight-until');
    const a = await runPretrain(['text', '--data', data, '--preset', 'tiny', '--out', straight, '--workers', '0', '--no-progress']);
    expect(a.code).toBe(0);
    const part = path.join(data, 'until');
    const args = ['text', '--data', data, '--preset', 'tiny', '--out', part, '--workers', '0', '--no-progress', '--until-step', '20'];
    const b = await runPretrain(args);
    expect(b.code).toBe(0);
    expect(b.summary).toMatchObject({ step: 20, steps: 60, finished: false });
    expect(readLosses(part)).toEqual(readLosses(straight).filter((p) => p.step <= 20));
    const held = readLosses(part).filter((p) => 'heldOut' in p);
    expect(held[held.length - 1]!.step).toBe(20); // evaluated at the stop
    const card = readFileSync(path.join(part, 'package', 'README.md'), 'utf8');
    expect(card).toMatch(/--until-step 20\n```/);
    expect(card).toMatch(/\| steps \| 20 of the 60-step schedule/);
    // the released tower is the step-20 checkpoint's model
    const towerWeights = readFileSync(path.join(part, 'tower', 'model.safetensors'));
    expect(towerWeights.length).toBeGreaterThan(0);
    // a stop before the newest checkpoint is refused; going on without the stop ends where the straight run ended
    const back = await runPretrain(['text', '--out', part, '--resume', '--workers', '0', '--no-progress', '--until-step', '20']);
    expect(back.code).toBe(0);
    await expect(runPretrain(['text', '--out', part, '--resume', '--workers', '0', '--no-progress', '--until-step', '61'])).rejects.toThrow(
      /--until-step 61 is past the run's 60 steps/,
    );
    const c = await runPretrain(['text', '--out', part, '--resume', '--workers', '0', '--no-progress']);
    expect(c.code).toBe(0);
    expect(readLosses(part)).toEqual(readLosses(straight));
    const weights = (dir: string) => readFileSync(path.join(dir, 'tower', 'model.safetensors'));
    expect(Buffer.compare(weights(part), weights(straight))).toBe(0);
    await expect(runPretrain(['text', '--out', part, '--resume', '--workers', '0', '--no-progress', '--until-step', '20'])).rejects.toThrow(
      /past the requested stop at step 20/,
    );
  });

  it('--keep-best total: OUT/best is the run at its lowest held-out loss; its command (+ --until-step) gives the same tower; the package card prints no machine path', async () => {
    const out = path.join(data, 'keep-best');
    const tiny = (dir: string, ...more: string[]) =>
      runPretrain(['text', '--data', data, '--preset', 'tiny', '--out', dir, '--workers', '0', '--no-progress', ...more]);
    const a = await tiny(out, '--keep-best', 'total');
    expect(a.code).toBe(0);
    const held = readLosses(out).filter((p): p is Extract<LossPoint, { heldOut: number }> => 'heldOut' in p && p.step > 0);
    const argmin = held.reduce((b, p) => (p.heldOut < b.heldOut ? p : b));
    const best = JSON.parse(readFileSync(path.join(out, 'best', 'run.json'), 'utf8')) as PretrainRun;
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as PretrainRun;
    expect(run.command).toContain('--keep-best total');
    expect(best.best).toEqual({ step: argmin.step, by: 'total', value: argmin.heldOut, heldOut: argmin.heldOut });
    expect(best.command).toBe(`${run.command} --until-step ${argmin.step}`);
    expect(readLosses(path.join(out, 'best')).at(-1)).toEqual(argmin);
    const card = readFileSync(path.join(out, 'best', 'package', 'README.md'), 'utf8');
    expect(card).toContain(`--until-step ${argmin.step}\n\`\`\``);
    expect(card).toContain('--data DATA --preset tiny --out OUT --seed 0'); // the run's paths print as DATA / OUT
    expect(card).not.toContain(data);
    const until = path.join(data, 'keep-best-until');
    const b = await tiny(until, '--until-step', String(argmin.step));
    expect(b.code).toBe(0);
    const weights = (dir: string) => readFileSync(path.join(dir, 'tower', 'model.safetensors'));
    expect(Buffer.compare(weights(path.join(out, 'best')), weights(until))).toBe(0);
    expect(Buffer.compare(weights(path.join(out, 'best', 'package')), weights(until))).toBe(0);
    await expect(tiny(path.join(data, 'kb-text'), '--keep-best', 'text')).rejects.toThrow(
      /a tower has one held-out loss; pass --keep-best total/,
    );
  });
});
