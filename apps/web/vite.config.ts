import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { zipperModels } from './server/models.js';

// `npm run web` (repository root) serves this page; ZIPPER_WEB_MODEL picks the model (server/models.ts).
const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  plugins: [zipperModels({ model: process.env['ZIPPER_WEB_MODEL'] || undefined, from: here })],
  server: { host: '127.0.0.1', port: 5173 },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  // the model worker (src/worker.ts) is a module worker
  worker: { format: 'es' },
  optimizeDeps: { esbuildOptions: { target: 'es2022' } },
});
