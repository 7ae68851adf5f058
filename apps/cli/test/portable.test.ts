// portable(): machine paths in what ships (run.json, model cards) become placeholders, at path
// boundaries only.
import { describe, expect, it } from 'vitest';
import { portable } from '../src/training/portable.js';

describe('portable', () => {
  it('replaces whole paths and prefixes at a /, longest first, never inside a longer name', () => {
    const paths = { '/tmp/x': 'DATA', '/tmp/x/run': 'OUT', '/tmp/a+b (1)': 'PEER', relative: 'NO' };
    const text = '--aligned /tmp/x --out /tmp/x/run --peer /tmp/a+b (1)/eval; /tmp/x-copy /tmp/x.old /tmp/xy "/tmp/x/run" relative';
    expect(portable(text, paths)).toBe('--aligned DATA --out OUT --peer PEER/eval; /tmp/x-copy /tmp/x.old /tmp/xy "OUT" relative');
  });
});
