/**
 * An interpolated modified Kneser-Ney n-gram language model over integer token ids (Chen and
 * Goodman 1998, section 3; the estimator of KenLM's lmplz without pruning): the baseline a
 * pretrained tower must beat on held-out cross-entropy with the same tokenization.
 *
 *   p_n(w | h) = max(a(h w) - D_n(a(h w)), 0) / a(h .)  +  gamma(h) * p_{n-1}(w | h')
 *   gamma(h)   = (D_n1 * N1(h .) + D_n2 * N2(h .) + D_n3+ * N3+(h .)) / a(h .)
 *   p_0(w)     = 1 / V   (uniform over the vocabulary plus end-of-sequence)
 *
 * where h' drops h's oldest token, a() is the raw count at the highest order and the
 * continuation count N1+(. h w) at lower orders (raw counts for n-grams that begin at the
 * sequence start, which has no left context), and N_k(h .) counts the words following h with
 * a() = k. Discounts per order from the count-of-counts n_k of that order's a():
 *   Y = n1 / (n1 + 2 n2),  D1 = 1 - 2Y n2/n1,  D2 = 2 - 3Y n3/n2,  D3+ = 3 - 4Y n4/n3
 * (each clamped to [0, k]; an order whose n1..n4 are not all positive uses D = 0.75 for every k).
 * A context never seen at an order passes its whole mass to the next lower order.
 *
 * Sequences: each is scored as `<s> t_1 ... t_n </s>` with `<s>` a context-only symbol; every
 * t_i and `</s>` is predicted (n + 1 targets), the history truncated to order - 1 tokens.
 */
import { EvalError } from './errors.js';

export interface NgramOptions {
  /** Model order (3 = trigram). Default 3. */
  readonly order?: number;
  /** Token ids are in [0, vocabSize). */
  readonly vocabSize: number;
}

interface Level {
  /** a(h w) for every n-gram of this order, keyed by its ids joined with ','. */
  readonly counts: Map<string, number>;
  /** Per context h: [a(h .), N1(h .), N2(h .), N3+(h .)]. */
  readonly contexts: Map<string, [number, number, number, number]>;
  /** D1, D2, D3+. */
  readonly discounts: readonly [number, number, number];
}

export class KneserNeyLM {
  readonly order: number;
  readonly vocabSize: number;
  private readonly levels: Level[] = []; // levels[k - 1]: order k
  private readonly bos: number;
  private readonly eos: number;

  constructor(sequences: readonly (readonly number[])[], options: NgramOptions) {
    const order = options.order ?? 3;
    if (!Number.isInteger(order) || order < 1 || order > 8) throw new EvalError(`order must be an integer in 1..8, got ${order}`);
    if (!Number.isInteger(options.vocabSize) || options.vocabSize < 1)
      throw new EvalError(`vocabSize must be a positive integer, got ${options.vocabSize}`);
    this.order = order;
    this.vocabSize = options.vocabSize;
    this.eos = options.vocabSize;
    this.bos = options.vocabSize + 1;
    // Raw counts of every order (needed at the top, and for n-grams that start at <s>).
    const raw: Map<string, number>[] = Array.from({ length: order }, () => new Map());
    const left: Map<string, Set<number>>[] = Array.from({ length: order }, () => new Map());
    for (const [s, seq] of sequences.entries()) {
      const toks = this.wrap(seq, `sequence ${s}`);
      for (let i = 1; i < toks.length; i++) {
        for (let n = 1; n <= order && i - n + 1 >= 0; n++) {
          const gram = toks.slice(i - n + 1, i + 1);
          const key = gram.join(',');
          raw[n - 1]!.set(key, (raw[n - 1]!.get(key) ?? 0) + 1);
          if (n < order && i - n >= 0) {
            let set = left[n - 1]!.get(key);
            if (!set) left[n - 1]!.set(key, (set = new Set()));
            set.add(toks[i - n]!);
          }
        }
      }
    }
    for (let n = 1; n <= order; n++) {
      const counts = new Map<string, number>();
      for (const [key, c] of raw[n - 1]!) {
        const startsAtBos = key.split(',')[0] === String(this.bos);
        counts.set(key, n === order || startsAtBos ? c : (left[n - 1]!.get(key)?.size ?? c));
      }
      const contexts = new Map<string, [number, number, number, number]>();
      const coc = [0, 0, 0, 0, 0]; // n_1 .. n_4
      for (const [key, a] of counts) {
        if (a <= 4) coc[a]!++;
        const ctx = key.split(',').slice(0, -1).join(',');
        const e = contexts.get(ctx) ?? [0, 0, 0, 0];
        e[0] += a;
        e[Math.min(a, 3)]!++;
        contexts.set(ctx, e);
      }
      this.levels.push({ counts, contexts, discounts: discounts(coc) });
    }
  }

  /** ln p(w | history); `w` may be `eos` (= vocabSize) for the end of the sequence. */
  logProb(history: readonly number[], w: number): number {
    return Math.log(this.prob(history, w));
  }

  /** p(w | history), interpolated down to the uniform distribution. */
  prob(history: readonly number[], w: number): number {
    if (!Number.isInteger(w) || w < 0 || w > this.eos)
      throw new EvalError(`token ${w} is outside [0, ${this.eos}] (ids and eos = vocabSize)`);
    const h = history.slice(Math.max(0, history.length - (this.order - 1)));
    let p = 1 / (this.vocabSize + 1); // p_0 over the vocabulary plus </s>
    for (let n = 1; n <= h.length + 1; n++) {
      const ctx = h.slice(h.length - (n - 1));
      const level = this.levels[n - 1]!;
      const ckey = ctx.join(',');
      const stats = level.contexts.get(ckey);
      if (!stats) continue; // unseen context: all mass to the lower order
      const [total, n1, n2, n3] = stats;
      const [d1, d2, d3] = level.discounts;
      const a = level.counts.get(ckey === '' ? String(w) : `${ckey},${w}`) ?? 0;
      const d = a === 0 ? 0 : a === 1 ? d1 : a === 2 ? d2 : d3;
      const gamma = (d1 * n1 + d2 * n2 + d3 * n3) / total;
      p = Math.max(a - d, 0) / total + gamma * p;
    }
    return p;
  }

  /** Mean negative log-likelihood (nats per predicted token) of sequences, and the target count. */
  crossEntropy(sequences: readonly (readonly number[])[]): { readonly nats: number; readonly targets: number } {
    let sum = 0;
    let targets = 0;
    for (const [s, seq] of sequences.entries()) {
      const toks = this.wrap(seq, `sequence ${s}`);
      for (let i = 1; i < toks.length; i++) {
        sum -= this.logProb(toks.slice(Math.max(0, i - this.order + 1), i), toks[i]!);
        targets++;
      }
    }
    return { nats: targets === 0 ? NaN : sum / targets, targets };
  }

  /** `<s> seq </s>` after checking ids. */
  private wrap(seq: readonly number[], what: string): number[] {
    for (const [i, t] of seq.entries()) {
      if (!Number.isInteger(t) || t < 0 || t >= this.vocabSize)
        throw new EvalError(`${what}, token ${i}: id ${t} is outside [0, ${this.vocabSize})`);
    }
    return [this.bos, ...seq, this.eos];
  }
}

function discounts(n: readonly number[]): [number, number, number] {
  const [, n1, n2, n3, n4] = n as [number, number, number, number, number];
  if (!(n1 > 0 && n2 > 0 && n3 > 0 && n4 > 0)) return [0.75, 0.75, 0.75];
  const y = n1 / (n1 + 2 * n2);
  const clamp = (d: number, k: number) => Math.min(Math.max(d, 0), k);
  return [clamp(1 - (2 * y * n2) / n1, 1), clamp(2 - (3 * y * n3) / n2, 2), clamp(3 - (4 * y * n4) / n3, 3)];
}
