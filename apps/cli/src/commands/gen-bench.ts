import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { generate, initBackend, Tower } from '@zipper/core';
import { UsageError, type Command } from '../command.js';

const USAGE = `zipper gen-bench [--vocab 512] [--d 256] [--layers 4] [--heads 4] [--seq 128] [--reps 5] [--torch PATH|none]
Greedy decoding with the KV cache, batch 1, from one start token to --seq tokens (the work of
torch_reference.py generate) through the public generate() API. Prints one JSON line: median
ms/token over --reps runs after one warm-up, and the PyTorch reference's ms/token measured in the
same run (ratio = ours / torch). See also \`zipper bench generate\` (the team's main benchmark).`;

function parse(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--help' || a === '-h') throw new UsageError(USAGE);
    if (!a.startsWith('--') || argv[i + 1] === undefined) throw new UsageError(`unexpected argument "${a}"\n${USAGE}`);
    out[a.slice(2)] = argv[++i] as string;
  }
  return out;
}

async function torchMsPerToken(script: string, o: Record<string, number>): Promise<number | undefined> {
  if (!existsSync(script)) return undefined;
  const env = { ...process.env };
  delete env['OPENBLAS_CORETYPE'];
  delete env['OPENBLAS_L2_SIZE'];
  const args = [script, 'generate', '--vocab', `${o.vocab}`, '--d', `${o.d}`, '--layers', `${o.layers}`, '--heads', `${o.heads}`, '--seq', `${o.seq}`, '--steps', `${5 * (o.reps ?? 5)}`];
  const { stdout } = await promisify(execFile)('/usr/bin/python3', args, { env });
  return (JSON.parse(stdout.trim().split('\n').at(-1) as string) as { ms_per_token: number }).ms_per_token;
}

export const genBench: Command = {
  name: 'gen-bench',
  summary: 'benchmark generate() (greedy, KV cache) against the PyTorch reference (JSON)',
  async run(argv) {
    const a = parse(argv);
    const num = (k: string, d: number) => {
      const v = a[k] === undefined ? d : Number(a[k]);
      if (!Number.isInteger(v) || v < 1) throw new UsageError(`--${k} must be a positive integer`);
      return v;
    };
    const o = { vocab: num('vocab', 512), d: num('d', 256), layers: num('layers', 4), heads: num('heads', 4), seq: num('seq', 128), reps: num('reps', 5) };
    const info = await initBackend();
    const tower = Tower.create({ vocabSize: o.vocab, dModel: o.d, nLayers: o.layers, nHeads: o.heads, maxSeqLen: o.seq }, { seed: 0 });
    const once = async () => {
      const t0 = performance.now();
      await generate(tower, [0], { maxNewTokens: o.seq });
      return (performance.now() - t0) / o.seq;
    };
    await once();
    const times: number[] = [];
    for (let i = 0; i < o.reps; i++) times.push(await once());
    tower.dispose();
    times.sort((x, y) => x - y);
    const ms = times[Math.floor(times.length / 2)] as number;
    const script = a['torch'] ?? '/work/shared/bench/torch_reference.py';
    const torch = script === 'none' ? undefined : await torchMsPerToken(script, o);
    console.log(
      JSON.stringify({
        engine: 'zipper',
        mode: 'generate',
        backend: info.backend,
        ...o,
        ms_per_token_median: +ms.toFixed(3),
        ms_per_token_all: times.map((t) => +t.toFixed(3)),
        tokens_per_s: +(1000 / ms).toFixed(1),
        torch_ms_per_token: torch === undefined ? null : +torch.toFixed(3),
        ratio_vs_torch: torch === undefined ? null : +(ms / torch).toFixed(2),
      }),
    );
    return 0;
  },
};
