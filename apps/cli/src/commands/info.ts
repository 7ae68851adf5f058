import { initBackend } from '@zipper/core';
import type { Command } from '../command.js';

export const info: Command = {
  name: 'info',
  summary: 'print the TensorFlow.js backend, its thread count, the native GEMM (used or why not) and package versions (JSON)',
  async run() {
    const b = await initBackend();
    console.log(JSON.stringify({ backend: b.backend, provider: b.provider, threads: b.threads, simd: b.simd, native: b.native, versions: b.versions }, null, 2));
    return 0;
  },
};
