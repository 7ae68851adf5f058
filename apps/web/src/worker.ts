/**
 * The model worker (a module Web Worker): picks the TF.js backend, loads the model from the
 * server's URLs with progress, and runs transcribe / speak requests one at a time, reporting
 * decoded tokens as they come (protocol.ts). WebGL runs here on an OffscreenCanvas.
 */
import '@tensorflow/tfjs-backend-webgl';
import { fetchModelFiles, initBrowserBackend, ZipperError, type FetchProgress } from '@zipper/core';
import { loadWebModel, type WebModel } from './model.js';
import type { FromWorker, ToWorker, WorkerError } from './protocol.js';

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (m: FromWorker, transfer: Transferable[] = []): void => scope.postMessage(m, transfer);

const asError = (e: unknown): WorkerError =>
  e instanceof Error
    ? { name: e.name, message: e.message, ours: e instanceof ZipperError }
    : { name: 'Error', message: String(e), ours: false };

/**
 * The WebGL renderer when it is a software one (SwiftShader, llvmpipe: no GPU), where TF.js's
 * WebGL decodes about 100x slower than wasm (apps/web/README.md, "Measured").
 */
function softwareWebGL(): string | undefined {
  if (typeof OffscreenCanvas === 'undefined') return undefined;
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
  if (!gl) return undefined;
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return /swiftshader|llvmpipe|softpipe|software/i.test(renderer) ? renderer : undefined;
}

let model: WebModel | undefined;

async function init(m: Extract<ToWorker, { type: 'init' }>): Promise<void> {
  const software = m.forced ? undefined : softwareWebGL();
  const info = await initBrowserBackend({ order: m.order.filter((b) => !(software && b === 'webgl')), wasmPaths: m.wasmPaths });
  post({
    type: 'backend',
    backend: info.backend,
    simd: info.simd,
    threads: info.threads,
    skipped: [
      ...info.skipped.map((s) => `${s.backend}: ${s.reason}`),
      ...(software ? [`webgl: software renderer (${software}), slower than wasm`] : []),
    ],
    ...(software ? { software } : {}),
  });
  const onProgress = (progress: FetchProgress) => post({ type: 'progress', progress });
  const files = (url: string) => fetchModelFiles(url, { onProgress });
  const t0 = performance.now();
  model = await loadWebModel({ run: files(m.urls.run), text: files(m.urls.text), speech: files(m.urls.speech) });
  post({
    type: 'ready',
    loadMs: performance.now() - t0,
    maxAudioSeconds: model.maxAudioSeconds,
    maxTextTokens: model.maxTextTokens,
    decoders: model.decoders,
  });
}

async function handle(m: ToWorker): Promise<void> {
  if (m.type === 'init') {
    try {
      await init(m);
    } catch (e) {
      post({ type: 'error', error: asError(e) });
    }
    return;
  }
  try {
    if (!model) throw new ZipperError('the model is not loaded yet; wait for "Ready"');
    const onToken = (count: number) => post({ type: 'tokens', id: m.id, count });
    if (m.type === 'transcribe') {
      const r = await model.transcribe(m.wav, { decoder: m.decoder, onToken });
      post({ type: 'transcript', id: m.id, ...r });
    } else {
      const r = await model.speak(m.text, { seed: m.seed, onToken });
      post({ type: 'speech', id: m.id, ...r }, [r.wav.buffer]);
    }
  } catch (e) {
    post({ type: 'error', id: m.id, error: asError(e) });
  }
}

// one request at a time, in order
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (e) => {
  queue = queue.then(() => handle(e.data));
};
