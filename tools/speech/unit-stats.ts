/**
 * Phone-free quality proxies of speech tokenizers (codebooks), per voice, on held-out audio.
 * Not a CI test. Run from the repo root:
 *
 *   npx vite-node -c vitest.config.ts tools/speech/unit-stats.ts -- --data /work/data/full \
 *     --manifest dev.jsonl --tokenizer A=DIR --tokenizer B=DIR [--pairs 30] [--per-voice 25]
 *
 * For every tokenizer and voice of MANIFEST (first --per-voice records of each voice):
 * - msd: mean squared distance of a unit vector (stack x nMels log-mel) to its nearest centroid;
 * - perplexity: exp(entropy) of the voice's unit histogram, and the number of distinct units used.
 * Cross-voice consistency (speaker invariance, what ASR over units needs), from the aligned
 * split: the first --pairs sentences per voice of aligned-asr.100pct.jsonl with the same
 * sentence by flite/slt in aligned-tts.100pct.jsonl (same line). Their unit vectors are
 * normalized per utterance (mean and variance per dimension) and aligned by DTW (Euclidean, steps
 * (1,0) (0,1) (1,1)); on that path, fixed for every tokenizer, we count
 * - agree: the fraction of aligned pairs with the same unit id;
 * - hCond: H(slt unit | voice unit) in bits over the voice's pooled pairs (plug-in estimate;
 *   bounded by H(slt unit), so compare it only next to hSlt);
 * - nmi: I(voice unit; slt unit) / sqrt(H(voice unit) H(slt unit)), 0..1 (higher: the voice's
 *   units and slt's units of the same sound determine each other more; plug-in, biased upwards
 *   for codebooks that use more units).
 * Prints one JSON line per (tokenizer, voice) and a markdown table at the end.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSpeechTokenizer, prepareAudio, readWav, type SpeechTokenizer } from '@zipper/tokenizers';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
};
const all = (name: string): string[] => argv.flatMap((a, i) => (a === `--${name}` && argv[i + 1] ? [argv[i + 1]!] : []));
const data = opt('data', 'data/full'); // a `zipper data build --size full` output
const manifest = opt('manifest', 'dev.jsonl');
const perVoice = Number(opt('per-voice', '25'));
const pairsPerVoice = Number(opt('pairs', '30'));
const toks: [string, SpeechTokenizer][] = all('tokenizer').map((s) => {
  const [name, dir] = s.includes('=') ? (s.split('=', 2) as [string, string]) : [s, s];
  return [name, loadSpeechTokenizer(dir)];
});
if (toks.length === 0) throw new Error('pass --tokenizer NAME=DIR at least once');

interface Rec {
  id: string;
  voice: string;
  path: string;
}
const readManifest = (file: string): Rec[] =>
  readFileSync(join(data, file), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Rec);
const firstPerVoice = (recs: Rec[], n: number): Map<string, Rec[]> => {
  const m = new Map<string, Rec[]>();
  for (const r of recs) {
    const l = m.get(r.voice) ?? [];
    if (l.length < n) l.push(r);
    m.set(r.voice, l);
  }
  return new Map([...m].sort(([a], [b]) => a.localeCompare(b)));
};
const audio = (r: Rec, sr: number) => prepareAudio(readWav(readFileSync(join(data, r.path))), sr);

/** Unit vectors of x plus the nearest-centroid ids and squared distances. */
function quantize(tok: SpeechTokenizer, x: Float32Array): { ids: Uint16Array; sq: number; frames: number } {
  const v = tok.unitVectors(x);
  const ids = tok.encode(x);
  const D = tok.dim;
  let sq = 0;
  for (let u = 0; u < v.frames; u++) {
    const c = ids[u]! * D;
    for (let d = 0; d < D; d++) {
      const e = v.data[u * D + d]! - tok.centroids[c + d]!;
      sq += e * e;
    }
  }
  return { ids, sq, frames: v.frames };
}

const rows: Record<string, string | number>[] = [];
const first = toks[0]![1];
const sr = first.features.sampleRate;

// per-voice msd / perplexity on MANIFEST
const held = firstPerVoice(readManifest(manifest), perVoice);
const clips = new Map<string, Float32Array[]>([...held].map(([v, recs]) => [v, recs.map((r) => audio(r, sr))]));
const stats = new Map<string, Map<string, { msd: number; ppl: number; used: number; units: number }>>();
for (const [name, tok] of toks) {
  const per = new Map<string, { msd: number; ppl: number; used: number; units: number }>();
  for (const [voice, xs] of clips) {
    const hist = new Float64Array(tok.units.numUnits);
    let sq = 0;
    let n = 0;
    for (const x of xs) {
      const q = quantize(tok, x);
      sq += q.sq;
      n += q.frames;
      for (const id of q.ids) hist[id]!++;
    }
    let h = 0;
    let used = 0;
    for (const c of hist)
      if (c > 0) {
        used++;
        h -= (c / n) * Math.log(c / n);
      }
    per.set(voice, { msd: sq / n, ppl: Math.exp(h), used, units: n });
  }
  stats.set(name, per);
}

// cross-voice consistency on aligned pairs
function normalize(v: { data: Float32Array; frames: number }, D: number): Float32Array {
  const out = new Float32Array(v.data.length);
  for (let d = 0; d < D; d++) {
    let m = 0;
    for (let t = 0; t < v.frames; t++) m += v.data[t * D + d]!;
    m /= v.frames;
    let s = 0;
    for (let t = 0; t < v.frames; t++) s += (v.data[t * D + d]! - m) ** 2;
    const sd = Math.sqrt(s / v.frames) || 1;
    for (let t = 0; t < v.frames; t++) out[t * D + d] = (v.data[t * D + d]! - m) / sd;
  }
  return out;
}
/** DTW path [i, j] pairs between a ([Ta, D]) and b ([Tb, D]). */
function dtw(a: Float32Array, Ta: number, b: Float32Array, Tb: number, D: number): [number, number][] {
  const cost = new Float64Array((Ta + 1) * (Tb + 1)).fill(Infinity);
  const W = Tb + 1;
  cost[0] = 0;
  for (let i = 1; i <= Ta; i++) {
    for (let j = 1; j <= Tb; j++) {
      let d = 0;
      for (let k = 0; k < D; k++) d += (a[(i - 1) * D + k]! - b[(j - 1) * D + k]!) ** 2;
      cost[i * W + j] = Math.sqrt(d) + Math.min(cost[(i - 1) * W + j]!, cost[i * W + j - 1]!, cost[(i - 1) * W + j - 1]!);
    }
  }
  const path: [number, number][] = [];
  let i = Ta;
  let j = Tb;
  while (i > 0 && j > 0) {
    path.push([i - 1, j - 1]);
    const diag = cost[(i - 1) * W + j - 1]!;
    const up = cost[(i - 1) * W + j]!;
    const left = cost[i * W + j - 1]!;
    if (diag <= up && diag <= left) {
      i--;
      j--;
    } else if (up <= left) i--;
    else j--;
  }
  return path.reverse();
}
const asr = readManifest('aligned-asr.100pct.jsonl');
const tts = readManifest('aligned-tts.100pct.jsonl');
const ttsByIndex = new Map(tts.map((r) => [r.id.replace('aligned-tts-', ''), r]));
const pairs = firstPerVoice(asr, pairsPerVoice);
const cross = new Map<string, Map<string, { agree: number; hCond: number; hSlt: number; nmi: number; pairs: number }>>(
  toks.map(([n]) => [n, new Map()]),
);
for (const [voice, recs] of pairs) {
  const joint = new Map<string, Map<string, number>>(toks.map(([n]) => [n, new Map()]));
  const same = new Map<string, number>(toks.map(([n]) => [n, 0]));
  let total = 0;
  for (const r of recs) {
    const s = ttsByIndex.get(r.id.replace('aligned-asr-', ''))!;
    const xa = audio(r, sr);
    const xs = audio(s, sr);
    const va = first.unitVectors(xa);
    const vs = first.unitVectors(xs);
    const path = dtw(normalize(va, first.dim), va.frames, normalize(vs, first.dim), vs.frames, first.dim);
    total += path.length;
    for (const [name, tok] of toks) {
      const ia = tok.encode(xa);
      const is = tok.encode(xs);
      const jm = joint.get(name)!;
      for (const [i, j] of path) {
        if (ia[i] === is[j]) same.set(name, same.get(name)! + 1);
        const key = `${ia[i]}:${is[j]}`;
        jm.set(key, (jm.get(key) ?? 0) + 1);
      }
    }
  }
  for (const [name] of toks) {
    // H(S | A) = H(A, S) - H(A)
    const jm = joint.get(name)!;
    const margA = new Map<string, number>();
    const margS = new Map<string, number>();
    let hj = 0;
    for (const [k, c] of jm) {
      const [a, s] = k.split(':') as [string, string];
      margA.set(a, (margA.get(a) ?? 0) + c);
      margS.set(s, (margS.get(s) ?? 0) + c);
      hj -= (c / total) * Math.log2(c / total);
    }
    const entropy = (m: Map<string, number>) => [...m.values()].reduce((h, c) => h - (c / total) * Math.log2(c / total), 0);
    const ha = entropy(margA);
    const hs = entropy(margS);
    const mi = ha + hs - hj;
    cross.get(name)!.set(voice, { agree: same.get(name)! / total, hCond: hj - ha, hSlt: hs, nmi: mi / Math.sqrt(ha * hs), pairs: total });
  }
}

for (const [name] of toks) {
  for (const voice of new Set([...held.keys(), ...pairs.keys()])) {
    const s = stats.get(name)!.get(voice);
    const c = cross.get(name)!.get(voice);
    const row = { tokenizer: name, voice, ...(s ?? {}), ...(c ?? {}) };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
const f = (x: unknown, d: number) => (typeof x === 'number' ? x.toFixed(d) : '-');
console.log('\n| voice | ' + toks.map(([n]) => `msd ${n} | ppl (used) ${n} | agree ${n} | NMI ${n}`).join(' | ') + ' |');
console.log('|---|' + toks.map(() => '---|---|---|---|').join(''));
for (const voice of new Set(rows.map((r) => r.voice as string))) {
  const cells = toks.map(([n]) => {
    const r = rows.find((x) => x.tokenizer === n && x.voice === voice)!;
    return `${f(r.msd, 2)} | ${f(r.ppl, 0)} (${r.used ?? '-'}) | ${f(r.agree, 3)} | ${f(r.nmi, 3)}`;
  });
  console.log(`| ${voice} | ${cells.join(' | ')} |`);
}
