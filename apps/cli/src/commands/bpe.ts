import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  loadTextTokenizer,
  saveTextTokenizer,
  stringifyHfJson,
  trainBpe,
  firstInvalidUtf8,
  utf8Decode,
  utf8DecodeStrict,
  type BpeTokenizer,
} from '@zipper/tokenizers';
import { fsReason, readInputFile, readStdin } from '../args.js';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { median, roundTo as round, showValue } from '@zipper/common';

const FORTUNES = '/usr/share/games/fortunes';

const USAGE = `usage:
  zipper bpe train --in FILE [--in FILE...] --vocab N --out DIR [--min-frequency N] [--special <pad>,<bos>,<eos>] [--reserved N]
  zipper bpe encode --tokenizer DIR [--in FILE] [--json] [--lossy]   ids of the text (stdin by default), space-separated
  zipper bpe decode --tokenizer DIR [--in FILE] [--skip-special]   text of whitespace-separated (or JSON) ids
  zipper bpe bench [--json] [--in FILE] [--runs N] [--vocab N]   encode MB/s and training time vs HF tokenizers

encode refuses input that is not valid UTF-8 (naming the byte offset) rather than tokenizing a
replacement character nobody wrote; --lossy encodes it anyway with each invalid sequence as U+FFFD
(with a warning on stderr). decode reads a JSON array of ids or whitespace-separated ids.
train reads the corpus line by line (as HF's trainer does) and writes DIR/tokenizer.json (HF format)
and DIR/zipper-tokenizer.json (format version, vocab size, roles, sha256). bench defaults to all
Debian fortunes files (${FORTUNES}) and needs the \`tokenizers\` npm package (a devDependency).`;

const OPTIONS = {
  in: { type: 'string', multiple: true },
  out: { type: 'string' },
  vocab: { type: 'string' },
  'min-frequency': { type: 'string', default: '2' },
  special: { type: 'string', default: '<pad>,<bos>,<eos>' },
  reserved: { type: 'string', default: '0' },
  tokenizer: { type: 'string' },
  json: { type: 'boolean', default: false },
  'skip-special': { type: 'boolean', default: false },
  lossy: { type: 'boolean', default: false },
  runs: { type: 'string', default: '5' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

const int = (v: string | undefined, name: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got "${v}"`);
  return n;
};

/** Splits text into lines that keep their "\n" (what HF's file trainer feeds). */
const linesOf = (text: string): string[] => text.split(/(?<=\n)/);

/** The bytes of the one --in file, or of stdin. */
function readInputBytes(v: Values): { bytes: Buffer; source: string } {
  const files = v.in ?? [];
  if (files.length > 1) throw new UsageError('give one --in file (or none for stdin)');
  return files[0] === undefined
    ? { bytes: readStdin(), source: 'standard input' }
    : { bytes: readInputFile(files[0], '--in'), source: `--in ${files[0]}` };
}

/** Text of --in (or stdin); invalid UTF-8 is refused unless --lossy. */
function readText(v: Values): string {
  const { bytes, source } = readInputBytes(v);
  if (!v.lossy) return utf8DecodeStrict(bytes, `${source} (pass --lossy to encode invalid bytes as U+FFFD)`);
  const text = utf8Decode(bytes);
  const at = firstInvalidUtf8(bytes);
  if (at >= 0)
    console.error(
      `zipper bpe: warning: ${source} is not valid UTF-8 (first at byte offset ${at}); --lossy encodes each invalid sequence as U+FFFD`,
    );
  return text;
}

async function tokenizerOf(v: Values): Promise<BpeTokenizer> {
  if (!v.tokenizer) throw new UsageError(`--tokenizer DIR is required\n\n${USAGE}`);
  return (await loadTextTokenizer(v.tokenizer)).tokenizer;
}

async function train(v: Values): Promise<number> {
  if (!v.in?.length || !v.out || !v.vocab) throw new UsageError(`bpe train needs --in, --vocab and --out\n\n${USAGE}`);
  const text = v.in.map((f) => utf8DecodeStrict(readInputFile(f, '--in'), `--in ${f}`)).join('');
  const t0 = performance.now();
  const tok = trainBpe(linesOf(text), {
    vocabSize: int(v.vocab, 'vocab', 1),
    minFrequency: int(v['min-frequency'], 'min-frequency', 0),
    specialTokens: v.special.split(',').filter((s) => s.length > 0),
    reservedTokens: int(v.reserved, 'reserved', 0),
  });
  const seconds = (performance.now() - t0) / 1000;
  try {
    mkdirSync(v.out, { recursive: true });
  } catch (e) {
    throw new UsageError(`cannot create --out ${v.out}: ${fsReason(e)}`);
  }
  const ref = await saveTextTokenizer(tok, v.out);
  console.log(
    JSON.stringify(
      { ...ref, merges: tok.model.merges.length, corpusBytes: Buffer.byteLength(text), trainSeconds: Number(seconds.toFixed(3)) },
      null,
      2,
    ),
  );
  return 0;
}

async function encode(v: Values): Promise<number> {
  const tok = await tokenizerOf(v);
  const ids = tok.encode(readText(v));
  console.log(v.json ? JSON.stringify(ids) : ids.join(' '));
  return 0;
}

async function decode(v: Values): Promise<number> {
  const tok = await tokenizerOf(v);
  const { bytes, source } = readInputBytes(v);
  const raw = bytes.toString('utf8').trim();
  let ids: unknown[];
  if (raw.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (e) {
      throw new UsageError(
        `${source}: not valid JSON (${(e as Error).message}); give a JSON array of ids like [1, 2, 3] or whitespace-separated ids`,
      );
    }
    if (!Array.isArray(parsed)) throw new UsageError(`${source}: expected a JSON array of ids like [1, 2, 3]`);
    ids = parsed;
  } else ids = raw.length ? raw.split(/\s+/).map((w) => (/^\d{1,15}$/.test(w) ? Number(w) : w)) : [];
  const bad = ids.findIndex((x) => typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0);
  if (bad >= 0)
    throw new UsageError(`${source}: item ${bad + 1} is ${showValue(ids[bad])}; ids are integers >= 0 (what \`zipper bpe encode\` prints)`);
  process.stdout.write(tok.decode(ids as number[], { skipSpecial: v['skip-special'] }));
  return 0;
}

/** CPU seconds (user + system, all threads of this process) used by `f`, also recorded in `cpu`. */
const cpuSeconds = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1e6;

/** Wall seconds of one call, and its result; its CPU seconds are pushed to `cpu` if given. */
async function timed<T>(f: () => T | Promise<T>, cpu?: number[]): Promise<[number, T]> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await f();
  const wall = (performance.now() - t0) / 1000;
  cpu?.push(cpuSeconds(process.cpuUsage(c0)));
  return [wall, r];
}

function defaultCorpus(): { path: string; text: string } {
  let names: string[];
  try {
    names = readdirSync(FORTUNES);
  } catch (e) {
    throw new UsageError(`cannot read ${FORTUNES} (${fsReason(e)}); install the Debian "fortunes" package or pass --in FILE`);
  }
  const files = names.filter((f) => !f.includes('.') && statSync(join(FORTUNES, f)).isFile()).sort();
  if (files.length === 0) throw new UsageError(`no fortunes in ${FORTUNES}; install the Debian "fortunes" package or pass --in FILE`);
  return { path: `${FORTUNES}/{${files.join(',')}}`, text: files.map((f) => readFileSync(join(FORTUNES, f), 'utf8')).join('') };
}

async function bench(v: Values): Promise<number> {
  const runs = int(v.runs, 'runs', 1);
  const vocab = int(v.vocab ?? '4096', 'vocab', 1);
  const { path, text } = v.in?.length
    ? { path: v.in[0]!, text: utf8DecodeStrict(readInputFile(v.in[0]!, '--in'), `--in ${v.in[0]!}`) }
    : defaultCorpus();
  const lines = linesOf(text);
  const mb = Buffer.byteLength(text) / 1e6;
  let hf: typeof import('tokenizers');
  try {
    hf = createRequire(import.meta.url)('tokenizers') as typeof import('tokenizers');
  } catch {
    throw new UsageError(
      'bpe bench compares against the `tokenizers` npm package; run `npm install` in the repository (it is a devDependency of @zipper/tokenizers)',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'zipper-bpe-bench-'));
  const corpusFile = join(dir, 'corpus.txt');
  writeFileSync(corpusFile, text);
  const log = (s: string): void => {
    if (!v.json) console.error(s);
  };

  // Training. HF's Node binding only exposes its default BpeTrainer (vocab 30000, min frequency 0,
  // observed alphabet), so the head-to-head uses those settings; ours at --vocab is timed too.
  const trainRuns = Math.min(runs, 3);
  const empty = JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: {},
      merges: [],
    },
  });
  const hfTrain: number[] = [];
  const trainCpu = { hf: [] as number[], ours30k: [] as number[] };
  const oursTrain30k: number[] = [];
  const oursTrain: number[] = [];
  let sameMerges = false;
  let tok: BpeTokenizer | undefined;
  for (let r = 0; r < trainRuns; r++) {
    const h = hf.Tokenizer.fromString(empty);
    hfTrain.push((await timed(() => h.train([corpusFile]), trainCpu.hf))[0]);
    const [s30k, ours30k] = await timed(
      () => trainBpe(lines, { vocabSize: 30000, minFrequency: 0, specialTokens: [], alphabet: 'observed' }),
      trainCpu.ours30k,
    );
    oursTrain30k.push(s30k);
    const hfFile = join(dir, 'hf.json');
    h.save(hfFile, false);
    const hfMerges = (JSON.parse(readFileSync(hfFile, 'utf8')) as { model: { merges: [string, string][] } }).model.merges;
    sameMerges = JSON.stringify(hfMerges) === JSON.stringify(ours30k.model.merges);
    const [s, t] = await timed(() => trainBpe(lines, { vocabSize: vocab }));
    oursTrain.push(s);
    tok = t;
    log(`train run ${r}: hf(30k) ${hfTrain[r]!.toFixed(2)} s, ours(30k) ${s30k.toFixed(2)} s, ours(${vocab}) ${s.toFixed(2)} s`);
  }

  // Encoding: the same tokenizer.json in both, every line of the corpus, fresh caches each run.
  const file = join(dir, 'tokenizer.json');
  writeFileSync(file, stringifyHfJson(tok!));
  const times = { hfCold: [] as number[], hfWarm: [] as number[], oursCold: [] as number[], oursWarm: [] as number[] };
  const cpu = { hf: [] as number[], ours: [] as number[] };
  let idsEqual = true;
  for (let r = 0; r < runs; r++) {
    const h = hf.Tokenizer.fromFile(file);
    const [hc, encs] = await timed(() => h.encodeBatch(lines), cpu.hf);
    times.hfCold.push(hc);
    times.hfWarm.push((await timed(() => h.encodeBatch(lines)))[0]);
    tok!.model.clearCache();
    const [oc, ids] = await timed(() => lines.map((l) => tok!.encode(l)), cpu.ours);
    times.oursCold.push(oc);
    times.oursWarm.push((await timed(() => lines.map((l) => tok!.encode(l))))[0]);
    if (r === 0) idsEqual = encs.every((e, i) => JSON.stringify(e.getIds()) === JSON.stringify(ids[i]));
    log(`encode run ${r}: hf ${(mb / hc).toFixed(2)} MB/s, ours ${(mb / oc).toFixed(2)} MB/s (cold caches)`);
  }
  const mbps = (xs: number[]): number => round(mb / median(xs), 2);
  const result = {
    corpus: { path, megabytes: round(mb), lines: lines.length },
    runs,
    encode: {
      oursMBps: mbps(times.oursCold),
      hfEncodeBatchMBps: mbps(times.hfCold),
      ratio: round(median(times.hfCold) / median(times.oursCold), 2),
      oursWarmCacheMBps: mbps(times.oursWarm),
      hfWarmCacheMBps: mbps(times.hfWarm),
      warmRatio: round(median(times.hfWarm) / median(times.oursWarm), 2),
      // MB per CPU-second (all threads; HF encodeBatch is multi-threaded): independent of machine load.
      oursMBPerCpuSecond: mbps(cpu.ours),
      hfMBPerCpuSecond: mbps(cpu.hf),
      cpuRatio: round(median(cpu.hf) / median(cpu.ours), 2),
      vocabSize: tok!.vocabSize,
      idsEqual,
    },
    train: {
      runs: trainRuns,
      oursSeconds: round(median(oursTrain)),
      oursVocab: vocab,
      hfDefaultTrainerSeconds: round(median(hfTrain)),
      oursSameSettingsSeconds: round(median(oursTrain30k)),
      hfDefaultTrainerCpuSeconds: round(median(trainCpu.hf)),
      oursSameSettingsCpuSeconds: round(median(trainCpu.ours30k)),
      sameSettings: 'vocab 30000, min frequency 0, observed alphabet, no special tokens',
      mergesIdenticalToHf: sameMerges,
    },
    node: process.version,
  };
  console.log(v.json ? JSON.stringify(result, null, 2) : result);
  return 0;
}

export const bpe: Command = {
  name: 'bpe',
  summary: 'byte-level BPE text tokenizer: train, encode, decode, bench (bpe --help)',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub) throw new UsageError(`which subcommand?\n\n${USAGE}`); // a usage error: on stderr, exit 2
    if (sub === '--help' || sub === '-h') {
      console.log(USAGE);
      return 0;
    }
    let values: Values;
    try {
      ({ values } = parseArgs({ args: [...rest], options: OPTIONS, strict: true, allowPositionals: false }));
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\n\n${USAGE}`);
    }
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const run = { train, encode, decode, bench }[sub as 'train'];
    if (!run) throw new UsageError(`unknown "bpe ${sub}"\n\n${USAGE}`);
    return run(values); // typed tokenizer errors are printed by bin.ts without a stack trace
  },
};
