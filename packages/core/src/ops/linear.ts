/**
 * `linear(x, w)`: y = x @ w for x (..., in) and w [in, out], with no bias.
 *
 * Owner: the performance engineer (this is the plain first version written by the model
 * engineer so the tower could be built; replace the body, keep the signature).
 * The forward is one plain 2-D matMul (the fast path on wasm); the gradient uses explicit
 * transposes followed by plain matMuls instead of the slow `transposeA/B` flags.
 */
import * as tf from '@tensorflow/tfjs-core';

export function linear<R extends tf.Rank>(x: tf.Tensor<R>, w: tf.Tensor2D): tf.Tensor<R> {
  const inDim = w.shape[0];
  const outDim = w.shape[1];
  const lead = x.shape.slice(0, -1);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xs, ws, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const x2 = tf.reshape(xs, [-1, inDim]) as tf.Tensor2D; // [N, in]
    save([x2, ws]);
    const y = tf.reshape(tf.matMul(x2, ws as tf.Tensor2D), [...lead, outDim]); // (..., out)
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
        const dy2 = tf.reshape(dy, [-1, outDim]) as tf.Tensor2D; // [N, out]
        const dx = tf.reshape(tf.matMul(dy2, tf.transpose(sw)), [...lead, inDim]); // (..., in)
        const dw = tf.matMul(tf.transpose(sx), dy2); // [in, out]
        return [dx, dw];
      },
    };
  });
  return f(x, w) as tf.Tensor<R>;
}
