import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { zipperModels } from './server/models.js';

// `npm run web` (repository root) serves this page; ZIPPER_WEB_MODEL picks the model (server/models.ts).
const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  // a missing file is a 404, not index.html (the SPA fallback): the model loader reads a 404 as
  // "no such file" (e.g. a text tower without lm.safetensors), and HTML as a corrupt one
  appType: 'mpa',
  plugins: [zipperModels({ model: process.env['ZIPPER_WEB_MODEL'] || undefined, from: here })],
  server: { host: '127.0.0.1', port: 5173 },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  // the model worker (src/worker.ts) is a module worker
  worker: { format: 'es' },
  optimizeDeps: { esbuildOptions: { target: 'es2022' } },
});
