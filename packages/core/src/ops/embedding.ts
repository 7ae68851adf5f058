/**
 * `embedding(ids, table)`: rows of `table` [V, D] at int32 `ids` [B, T] -> [B, T, D];
 * `tiedLogits(x, table)`: x (..., D) @ table^T -> (..., V), the output softmax tied to the table.
 *
 * Owner: the performance engineer (plain first version written by the model engineer;
 * replace the bodies, keep the signatures). The embedding gradient is a one-hot matMul
 * because wasm has no `UnsortedSegmentSum` (tf.gather's built-in gradient). Ids are not
 * range-checked here; the tower validates them at its boundary.
 */
import * as tf from '@tensorflow/tfjs-core';

export function embedding(ids: tf.Tensor2D, table: tf.Tensor2D): tf.Tensor3D {
  const [b, t] = ids.shape;
  const [v, d] = table.shape;
  const flat = tf.reshape(ids, [-1]) as tf.Tensor1D; // [B*T]
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [tab, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([]);
    const y = tf.reshape(tf.gather(tab, flat), [b, t, d]); // [B, T, D]
    return {
      value: y,
      gradFunc: (dy: tf.Tensor) => {
        const dy2 = tf.reshape(dy, [-1, d]); // [B*T, D]
        const oneHotT = tf.transpose(tf.oneHot(flat, v, 1, 0, 'float32')); // [V, B*T]
        return [tf.matMul(oneHotT, dy2)]; // [V, D]
      },
    };
  });
  return f(table) as tf.Tensor3D;
}

export function tiedLogits<R extends tf.Rank>(x: tf.Tensor<R>, table: tf.Tensor2D): tf.Tensor<R> {
  const [v, d] = table.shape;
  const lead = x.shape.slice(0, -1);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xs, tab, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const x2 = tf.reshape(xs, [-1, d]) as tf.Tensor2D; // [N, D]
    save([x2, tab]);
    const y = tf.reshape(tf.matMul(x2, tf.transpose(tab as tf.Tensor2D)), [...lead, v]); // (..., V)
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
