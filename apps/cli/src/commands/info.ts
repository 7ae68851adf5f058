import { initBackend } from '@zipper/core';
import { parse } from '../args.js';
import type { Command } from '../command.js';

const USAGE = `usage: zipper info
  Prints the TensorFlow.js backend, its thread count, the native GEMM (used or why not) and the
  package versions, as JSON. ZIPPER_BACKEND, ZIPPER_THREADS and ZIPPER_NATIVE change them.`;

export const info: Command = {
  name: 'info',
  summary: 'print the TensorFlow.js backend, its thread count, the native GEMM (used or why not) and package versions (JSON)',
  async run(argv) {
    const { values } = parse(argv, { help: { type: 'boolean', short: 'h' } }, USAGE);
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const b = await initBackend();
    console.log(
      JSON.stringify(
        { backend: b.backend, provider: b.provider, threads: b.threads, simd: b.simd, native: b.native, versions: b.versions },
        null,
        2,
      ),
    );
    return 0;
  },
};
