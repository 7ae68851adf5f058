// The `text|speech` positional of `zipper pretrain|continue|quality` (one helper, modalityArg,
// used by all three commands), the numeric option readers, and the typed error of quality's
// internal invariant.
import { describe, expect, it } from 'vitest';
import {
  intArg,
  joinNegativeValues,
  MAX_SEED,
  modalityArg,
  numArg,
  packageNameArg,
  parse,
  probabilityArg,
  seedArg,
  topPArg,
} from '../src/args.js';
import { UsageError } from '../src/command.js';
import { QualityInvariantError } from '../src/commands/quality.js';
import { parseSeeds } from '../src/eval/tts.js';
import { reportError } from '../src/main.js';
import { runCli } from './cli-harness.js';

const USAGE = 'usage: zipper x text|speech';
const usageError = (positionals: string[]): UsageError => {
  try {
    modalityArg(positionals, USAGE);
  } catch (e) {
    return e as UsageError;
  }
  throw new Error(`modalityArg accepted ${JSON.stringify(positionals)}`);
};

describe('modalityArg', () => {
  it('takes exactly one positional, text or speech', () => {
    expect(modalityArg(['text'], USAGE)).toBe('text');
    expect(modalityArg(['speech'], USAGE)).toBe('speech');
    for (const [positionals, message] of [
      [[], 'first argument must be text or speech, got nothing'],
      [['video'], 'first argument must be text or speech, got "video"'],
      [['Text'], 'first argument must be text or speech, got "Text"'],
      [['text', 'speech'], 'unexpected argument "speech"'],
    ] as const) {
      const e = usageError([...positionals]);
      expect(e).toBeInstanceOf(UsageError);
      expect(e.message).toBe(`${message}\n\n${USAGE}`);
    }
  });

  it('pretrain, continue and quality: the same usage error, exit 2, before any other check', async () => {
    for (const command of ['pretrain', 'continue', 'quality']) {
      const none = await runCli([command]);
      expect(none.code, command).toBe(2);
      expect(none.stderr.split('\n')[0]).toBe('zipper: first argument must be text or speech, got nothing');
      const two = await runCli([command, 'speech', 'text']);
      expect(two.code, command).toBe(2);
      expect(two.stderr.split('\n')[0]).toBe('zipper: unexpected argument "text"');
      expect(two.stderr).toContain(`usage:`);
      expect(two.stderr).toContain(`zipper ${command} text`); // the command's own usage follows
    }
  });
});

describe('zipper quality: internal invariant', () => {
  it('is a typed error (QualityInvariantError, exit 1), not an unexpected one', () => {
    const r = reportError(new QualityInvariantError('the tower scored 7 held-out targets and the Kneser-Ney n-gram 11'));
    expect(r).toEqual({
      code: 1,
      message: 'zipper: QualityInvariantError: the tower scored 7 held-out targets and the Kneser-Ney n-gram 11',
    });
  });
});

describe('negative option values', () => {
  const options = { 'word-bonus': { type: 'string' }, json: { type: 'boolean' } } as const;
  it('--name -1 is read as --name=-1 when --name takes a value', () => {
    expect(joinNegativeValues(['--word-bonus', '-1', '--json'], options)).toEqual(['--word-bonus=-1', '--json']);
    expect(joinNegativeValues(['--word-bonus', '-.5'], options)).toEqual(['--word-bonus=-.5']);
    expect(parse(['--word-bonus', '-1.5'], options, USAGE).values['word-bonus']).toBe('-1.5');
  });
  it('leaves alone what is not a negative number after a value option, and everything after --', () => {
    for (const argv of [
      ['--word-bonus', '-x'],
      ['--json', '-1'],
      ['--word-bonus=-2', '-3'],
      ['--', '--word-bonus', '-1'],
    ])
      expect(joinNegativeValues(argv, options)).toEqual(argv);
    expect(() => parse(['--word-bonus', '--json'], options, USAGE)).toThrow(UsageError);
  });
});

describe('numeric options: one reader per kind, its bounds in its message', () => {
  const message = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      return (e as Error).message;
    }
    throw new Error('accepted');
  };
  it('numArg: the fallback when absent, the number when in [min, max], else one line naming the bounds', () => {
    expect(numArg(undefined, 'x', 0.3)).toBe(0.3);
    expect(numArg('0.25', 'x', 0)).toBe(0.25);
    expect(numArg('-2', 'x', 0, -Infinity)).toBe(-2);
    expect(numArg('1', 'x', 0, 0, 1)).toBe(1);
    expect(message(() => numArg('-1', 'x', 0))).toBe('--x must be a non-negative number, got "-1"');
    expect(message(() => numArg('nope', 'x', 0, -Infinity))).toBe('--x must be a number, got "nope"');
    expect(message(() => numArg('0.5', 'x', 1, 1))).toBe('--x must be a number >= 1, got "0.5"');
    expect(message(() => numArg('1.5', 'joint-ctc-weight', 0.3, 0, 1))).toBe('--joint-ctc-weight must be a number in [0, 1], got "1.5"');
    expect(message(() => numArg('', 'x', 0))).toBe('--x must be a non-negative number, got ""');
    expect(message(() => numArg('Infinity', 'x', 0))).toBe('--x must be a non-negative number, got "Infinity"');
    expect(message(() => intArg('2.5', 'steps', 1, 1))).toBe('--steps must be an integer >= 1, got "2.5"');
  });
  it('topPArg takes (0, 1]; probabilityArg takes [0, 1)', () => {
    expect(topPArg(undefined)).toBe(1);
    expect(topPArg('0.9')).toBe(0.9);
    expect(topPArg('1')).toBe(1);
    for (const bad of ['0', '1.01', '-0.5'])
      expect(message(() => topPArg(bad))).toMatch(/^--top-p must be (in \(0, 1\]|a non-negative number), got "/);
    expect(probabilityArg('0', 'unit-noise')).toBe(0);
    expect(message(() => probabilityArg('1', 'unit-noise'))).toBe('--unit-noise takes a probability in [0, 1), got "1"');
  });
  it('intArg takes an upper bound; seedArg and eval tts --seeds are uint32s, so no two seeds alias; packageNameArg a scoped npm name', () => {
    expect(intArg('7', 'x', 0, 0, 7)).toBe(7);
    expect(message(() => intArg('8', 'x', 0, 0, 7))).toBe('--x must be an integer in [0, 7], got "8"');
    expect(seedArg(undefined)).toBe(0);
    expect(seedArg('4294967295')).toBe(MAX_SEED);
    expect(MAX_SEED).toBe(2 ** 32 - 1);
    // 2^32 would alias seed 0 in every uint32 random stream (data order, sampling)
    expect(message(() => seedArg('4294967296'))).toBe('--seed must be an integer in [0, 4294967295], got "4294967296"');
    expect(message(() => seedArg('-1'))).toBe('--seed must be an integer in [0, 4294967295], got "-1"');
    expect(parseSeeds('0,1,4294967295')).toEqual([0, 1, MAX_SEED]);
    expect(message(() => parseSeeds('0,4294967296'))).toBe(
      '--seeds takes integers in [0, 4294967295] separated by commas (e.g. 0,1,2), got "0,4294967296"',
    );
    expect(packageNameArg('@zipper/checkpoint-speech-small-2048')).toBe('@zipper/checkpoint-speech-small-2048');
    for (const bad of ['checkpoint-x', '@Zipper/x', '@zipper/', '@zipper/a b'])
      expect(message(() => packageNameArg(bad))).toBe(`--name must be a scoped npm package name, got "${bad}"`);
  });
});
