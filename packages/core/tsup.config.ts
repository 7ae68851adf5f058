import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  shims: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // tfjs-core's gradient registrations exist only as extensionless ESM (see src/kernels/gradients.ts).
  noExternal: [/^@tensorflow\/tfjs-core\/dist\/register_all_gradients/],
});
