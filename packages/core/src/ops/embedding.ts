/**
 * `embedding(ids, table)`: rows of `table` [V, D] at int32 `ids` [B, T] -> [B, T, D].
 * `tiedLogits(x, table)`: x (..., D) @ table^T -> (..., V), the output softmax tied to the table.
 *
 * Gradients:
 * - embedding: dtable = unsortedSegmentSum(dy [N, D], ids [N], V). wasm has no built-in
 *   `UnsortedSegmentSum`; kernels/unsorted-segment-sum.ts registers one (O(N*D) adds), which
 *   beats the dense alternative oneHot(ids)^T @ dy (2*N*V*D flops: 268 MFLOP at the reference
 *   preset's N=1024, V=512, D=256).
 * - tiedLogits: forward x @ table^T with the transposeB flag (on wasm our BatchMatMul wrapper
 *   turns it into an explicit transpose + XNNPACK for many rows, and into dot products without
 *   any copy of the table for decode's single row, see kernels/batch-matmul.ts); gradient
 *   dx = dy @ table, dtable = transpose(dy) @ x, plain 2-D matMuls (see linear.ts).
 * A frozen table (ops/tape.ts `isFrozen`) gets no gradient: tiedLogits then differentiates x
 * only; embedding is a plain gather (the table is its only differentiable input, so TF.js never
 * runs its gradient then anyway; this only skips the custom-gradient bookkeeping).
 * Ids are not range-checked here (out-of-range rows read as zeros on some backends); the tower
 * validates them at its boundary.
 *
 * Legend: B batch, T time, N = B*T rows, D width, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import '../kernels/gradients.js';
import { isFrozen, recordingGradients } from './tape.js';

export function embedding(ids: tf.Tensor2D, table: tf.Tensor2D): tf.Tensor3D {
  if (ids.rank !== 2 || ids.dtype !== 'int32') throw new ShapeError(`embedding: ids must be int32 [B, T], got ${ids.dtype} [${ids.shape}]`);
  if (table.rank !== 2) throw new ShapeError(`embedding: table must be [V, D], got [${table.shape}]`);
  const [b, t] = ids.shape;
  const [v, d] = table.shape;
  if (!recordingGradients() || isFrozen(table))
    return tf.tidy(() => tf.reshape(tf.gather(table, tf.reshape(ids, [-1])), [b, t, d]) as tf.Tensor3D);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [tab, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const flat = tf.reshape(ids, [-1]) as tf.Tensor1D; // [N]
    save([flat]);
    const y = tf.reshape(tf.gather(tab, flat), [b, t, d]); // [B, T, D]
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.unsortedSegmentSum(tf.reshape(dy, [-1, d]), saved[0] as tf.Tensor1D, v)], // [V, D]
    };
  });
  return f(table) as tf.Tensor3D;
}

export function tiedLogits<R extends tf.Rank>(x: tf.Tensor<R>, table: tf.Tensor2D): tf.Tensor<R> {
  if (table.rank !== 2) throw new ShapeError(`tiedLogits: table must be [V, D], got [${table.shape}]`);
  const [v, d] = table.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== d) throw new ShapeError(`tiedLogits: x's last axis must be D=${d}, got x shape [${x.shape}]`);
  const lead = x.shape.slice(0, -1);
  if (!recordingGradients()) {
    return tf.tidy(
      () =>
        tf.reshape(tf.matMul(tf.reshape(x, [-1, d]) as tf.Tensor2D, table, false, true), [
          ...lead,
          v,
        ] as number[]) as tf.Tensor as tf.Tensor<R>,
    );
  }
  if (isFrozen(table)) {
    const g = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [xs] = args as [tf.Tensor];
      const y = tf.reshape(tf.matMul(tf.reshape(xs, [-1, d]) as tf.Tensor2D, table, false, true), [...lead, v]); // (..., V)
      return {
        value: y,
        gradFunc: (dy: tf.Tensor) => [tf.reshape(tf.matMul(tf.reshape(dy, [-1, v]) as tf.Tensor2D, table), [...lead, d])], // (..., D)
      };
    });
    return g(x) as tf.Tensor<R>;
  }
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xs, tab, save] = args as [tf.Tensor, tf.Tensor2D, tf.GradSaveFunc];
    const x2 = tf.reshape(xs, [-1, d]) as tf.Tensor2D; // [N, D]
    save([x2, tab]);
    const y = tf.reshape(tf.matMul(x2, tab, false, true), [...lead, v]); // (..., V)
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, st] = saved as [tf.Tensor2D, tf.Tensor2D];
        const dy2 = tf.reshape(dy, [-1, v]) as tf.Tensor2D; // [N, V]
        const dx = tf.reshape(tf.matMul(dy2, st), [...lead, d]); // (..., D)
        const dtab = tf.matMul(tf.transpose(dy2), sx); // [V, D]
        return [dx, dtab];
      },
    };
  });
  return f(x, table) as tf.Tensor<R>;
}
