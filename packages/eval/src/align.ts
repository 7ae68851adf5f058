/**
 * Minimum-cost alignment of a reference and a hypothesis token sequence, the way NIST sclite
 * (SCTK) aligns them: dynamic programming with the costs correct 0, substitution 4, insertion 3,
 * deletion 3 (sclite's defaults), so a substitution is preferred to an insertion plus a deletion.
 * Among alignments of equal cost the traceback (from the end) prefers a diagonal step, then a
 * deletion, then an insertion; with that order every error count equals sclite's on the parity
 * corpus of test/sclite-parity.test.ts (sctk 2.4.10).
 *
 * Note the error total S + D + I of this alignment may exceed the plain Levenshtein distance
 * (unit costs) in rare cases: sclite's figures are the reference, so these are reported.
 */

export type EditOp = 'C' | 'S' | 'D' | 'I';

export interface AlignmentCounts {
  /** Reference tokens (= C + S + D). */
  readonly ref: number;
  readonly correct: number;
  readonly sub: number;
  readonly del: number;
  readonly ins: number;
}

export interface Alignment extends AlignmentCounts {
  /** The edit operations from the first token to the last. */
  readonly ops: readonly EditOp[];
}

const SUB = 4;
const INS = 3;
const DEL = 3;

/** Aligns `ref` to `hyp` (tokens compared with ===). */
export function align(ref: readonly string[], hyp: readonly string[]): Alignment {
  const n = ref.length;
  const m = hyp.length;
  const w = m + 1;
  const cost = new Float64Array((n + 1) * w); // cost[i * w + j]: ref[0..i) against hyp[0..j)
  for (let j = 1; j <= m; j++) cost[j] = j * INS;
  for (let i = 1; i <= n; i++) {
    cost[i * w] = i * DEL;
    for (let j = 1; j <= m; j++) {
      const diag = cost[(i - 1) * w + j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : SUB);
      const up = cost[(i - 1) * w + j]! + DEL;
      const left = cost[i * w + j - 1]! + INS;
      cost[i * w + j] = Math.min(diag, up, left);
    }
  }
  const ops: EditOp[] = [];
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    const here = cost[i * w + j]!;
    if (i > 0 && j > 0) {
      const same = ref[i - 1] === hyp[j - 1];
      if (here === cost[(i - 1) * w + j - 1]! + (same ? 0 : SUB)) {
        ops.push(same ? 'C' : 'S');
        i--;
        j--;
        continue;
      }
    }
    if (i > 0 && here === cost[(i - 1) * w + j]! + DEL) {
      ops.push('D');
      i--;
      continue;
    }
    ops.push('I');
    j--;
  }
  ops.reverse();
  let correct = 0;
  let sub = 0;
  let del = 0;
  let ins = 0;
  for (const op of ops) {
    if (op === 'C') correct++;
    else if (op === 'S') sub++;
    else if (op === 'D') del++;
    else ins++;
  }
  return { ops, ref: n, correct, sub, del, ins };
}
