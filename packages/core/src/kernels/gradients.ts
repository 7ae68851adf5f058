/**
 * Registers TF.js's gradient functions (Sum, Softmax, Mul, ...). `@tensorflow/tfjs-core` alone
 * registers none (the `@tensorflow/tfjs` union package does it), so `tf.grad` / `tf.variableGrads`
 * fail with "gradient function not found" without this import.
 *
 * tfjs-core ships these files only as extensionless ESM, which Node cannot load directly, so the
 * package build bundles them (tsup `noExternal` for this path in packages/core/tsup.config.ts);
 * they register into the one global TF.js engine like any other copy.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
