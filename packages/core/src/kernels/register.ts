/**
 * Kernels the wasm backend lacks or runs slowly, registered once before the backend is used.
 */
let registered = false;

export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
}
