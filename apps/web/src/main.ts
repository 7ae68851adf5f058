/**
 * The page: picks the TF.js backend (WebGPU / WebGL where the browser has them, else wasm;
 * `?backend=wasm|webgl|webgpu|cpu` forces one), fetches the model with a progress bar, and wires
 * upload / record -> transcript and text -> <audio>. Every failure is shown in the page; the
 * body's data-model / data-asr / data-tts attributes say what state each part is in (tests wait
 * on them).
 */
import '@tensorflow/tfjs-backend-webgl';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import {
  BROWSER_BACKEND_ORDER,
  fetchModelFiles,
  initBrowserBackend,
  ZipperError,
  type BrowserBackendName,
  type FetchProgress,
} from '@zipper/core';
import { writeWav } from '@zipper/tokenizers';
import { MAX_TEXT_CHARS, MAX_WAV_BYTES } from './limits.js';
import { loadWebModel, type Timings, type WebModel } from './model.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const state = (part: 'model' | 'asr' | 'tts', value: string): void => void (document.body.dataset[part] = value);
const ms = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
/** Lets the browser paint a status before synchronous work starts. */
const paint = (): Promise<void> => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));

function showTimings(list: HTMLElement, timings: Timings, extra: string[] = []): void {
  list.replaceChildren(
    ...Object.entries(timings).map(([step, t]) => Object.assign(document.createElement('li'), { textContent: `${step}: ${ms(t)}` })),
    ...extra.map((e) => Object.assign(document.createElement('li'), { textContent: e })),
  );
}

/** Our errors' messages say what to do and stand alone; anything else is shown with its class. */
function showError(el: HTMLElement, e: unknown): void {
  el.hidden = false;
  el.textContent =
    e instanceof ZipperError || (e instanceof Error && e.name === 'Error')
      ? e.message
      : e instanceof Error
        ? `${e.name}: ${e.message}`
        : String(e);
}

function clearError(el: HTMLElement): void {
  el.hidden = true;
  el.textContent = '';
}

/** The bar: bytes received over bytes announced (Content-Length) across all files so far. */
function progressTracker(): (p: FetchProgress) => void {
  const files = new Map<string, { loaded: number; total: number }>();
  return (p) => {
    files.set(p.url, { loaded: p.loaded, total: p.total ?? p.loaded });
    let loaded = 0;
    let total = 0;
    for (const f of files.values()) {
      loaded += f.loaded;
      total += f.total;
    }
    $<HTMLProgressElement>('load-progress').value = total > 0 ? loaded / total : 0;
    $('load-status').textContent = `Fetching ${p.url.split('/').slice(-2).join('/')}: ${mb(loaded)} of ${mb(total)}`;
  };
}

/**
 * The WebGL renderer when it is a software one (SwiftShader, llvmpipe: no GPU), where TF.js's
 * WebGL runs a decode step about 100x slower than wasm (apps/web/README.md, "Backends").
 */
function softwareWebGL(): string | undefined {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return undefined;
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return /swiftshader|llvmpipe|softpipe|software/i.test(renderer) ? renderer : undefined;
}

async function chooseBackend(): Promise<void> {
  const forced = new URLSearchParams(location.search).get('backend');
  const software = forced ? undefined : softwareWebGL();
  const order = forced ? [forced as BrowserBackendName] : BROWSER_BACKEND_ORDER.filter((b) => !(software && b === 'webgl'));
  const info = await initBrowserBackend({
    order,
    wasmPaths: {
      'tfjs-backend-wasm.wasm': wasmPlain,
      'tfjs-backend-wasm-simd.wasm': wasmSimd,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
    },
  });
  const detail =
    info.backend === 'wasm' ? ` (SIMD ${info.simd ? 'on' : 'off'}, ${info.threads} thread${info.threads === 1 ? '' : 's'})` : '';
  $('backend').textContent = `${info.backend}${detail}`;
  const skipped = [
    ...info.skipped.map((s) => `${s.backend}: ${s.reason}`),
    ...(software ? [`webgl: software renderer (${software}), slower than wasm`] : []),
  ];
  $('backend').title = skipped.join('\n');
  if (software) $('backend').textContent += ' (WebGL skipped: software renderer)';
  document.body.dataset['backend'] = info.backend;
}

interface ModelIndex {
  readonly ok: boolean;
  readonly error?: string;
  readonly model?: string;
  readonly run: { url: string; name: string; version: string | null };
  readonly towers: Record<'text' | 'speech', { url: string; name: string; version: string | null }>;
}

async function loadModel(): Promise<WebModel> {
  const res = await fetch('/models/index.json');
  if (!res.ok) throw new Error(`the server has no /models/index.json (HTTP ${res.status}); serve the page with \`npm run web\``);
  const index = (await res.json()) as ModelIndex;
  if (!index.ok) throw new Error(`no model to run: ${index.error ?? 'unknown reason'}`);
  const named = (e: { name: string; version: string | null }) => `${e.name}${e.version ? `@${e.version}` : ''}`;
  $('model-name').textContent = `${named(index.run)} (towers ${named(index.towers.text)}, ${named(index.towers.speech)})`;
  const onProgress = progressTracker();
  const files = (url: string) => fetchModelFiles(new URL(url, location.href).href, { onProgress });
  const t0 = performance.now();
  const model = await loadWebModel({
    run: files(index.run.url),
    text: files(index.towers.text.url),
    speech: files(index.towers.speech.url),
  });
  const t = performance.now() - t0;
  $<HTMLProgressElement>('load-progress').value = 1;
  $('load-time').textContent = ms(t);
  Object.assign(document.body.dataset, {
    loadMs: t.toFixed(0),
    maxAudioSeconds: model.maxAudioSeconds.toFixed(2),
    maxTextTokens: String(model.maxTextTokens),
  });
  $('load-status').textContent =
    `Ready. Speech up to ${model.maxAudioSeconds.toFixed(1)} s per request (WAV files up to ${MAX_WAV_BYTES / 2 ** 20} MiB); text up to ${model.maxTextTokens} tokens and ${MAX_TEXT_CHARS} characters.`;
  return model;
}

async function transcribe(model: WebModel, bytes: Uint8Array, source: string): Promise<void> {
  const err = $('asr-error');
  clearError(err);
  state('asr', 'busy');
  $('transcript').textContent = `Transcribing ${source}...`;
  $('asr-timings').replaceChildren();
  await paint();
  try {
    const r = await model.transcribe(bytes);
    $('transcript').textContent = r.text;
    showTimings($('asr-timings'), r.timings, [
      `${r.seconds.toFixed(2)} s of audio, ${r.units} units, ${r.tokens} text tokens (${r.finishReason === 'stop' ? 'ended by the model' : 'cut at the limit'})`,
    ]);
    state('asr', 'done');
  } catch (e) {
    $('transcript').textContent = '';
    showError(err, e);
    state('asr', 'error');
  }
}

/** Records from the microphone until stopped (or the model's longest audio), then transcribes a WAV of it. */
function recorder(model: WebModel): () => Promise<void> {
  let active: MediaRecorder | undefined;
  return async () => {
    const button = $<HTMLButtonElement>('record');
    if (active) {
      active.stop();
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const chunks: Blob[] = [];
      const rec = new MediaRecorder(stream);
      active = rec;
      rec.ondataavailable = (e) => chunks.push(e.data);
      const limit = setTimeout(() => rec.stop(), model.maxAudioSeconds * 1000);
      rec.onstop = () => {
        clearTimeout(limit);
        active = undefined;
        button.textContent = 'Record';
        for (const t of stream.getTracks()) t.stop();
        void (async () => {
          try {
            const ctx = new AudioContext();
            const audio = await ctx.decodeAudioData(await new Blob(chunks).arrayBuffer());
            const channels = Array.from({ length: audio.numberOfChannels }, (_, c) => audio.getChannelData(c));
            await ctx.close();
            await transcribe(model, writeWav(channels, audio.sampleRate, 'pcm16'), 'the recording');
          } catch (e) {
            showError($('asr-error'), e);
            state('asr', 'error');
          }
        })();
      };
      rec.start();
      button.textContent = `Stop (max ${model.maxAudioSeconds.toFixed(0)} s)`;
    } catch (e) {
      showError($('asr-error'), new Error(`cannot record: ${(e as Error).message}; allow the microphone, or upload a WAV file`));
      state('asr', 'error');
    }
  };
}

async function speak(model: WebModel): Promise<void> {
  const err = $('tts-error');
  clearError(err);
  state('tts', 'busy');
  $('tts-info').textContent = 'Speaking...';
  $('tts-timings').replaceChildren();
  await paint();
  try {
    const seed = Number($<HTMLInputElement>('tts-seed').value || 0);
    const r = await model.speak($<HTMLTextAreaElement>('tts-text').value, { seed });
    const audio = $<HTMLAudioElement>('tts-audio');
    if (audio.src) URL.revokeObjectURL(audio.src);
    audio.src = URL.createObjectURL(new Blob([r.wav], { type: 'audio/wav' }));
    Object.assign(audio.dataset, { units: String(r.units), samples: String(r.samples), sampleRate: String(r.sampleRate) });
    $('tts-info').textContent =
      `"${r.text}": ${r.units} units, ${(r.samples / r.sampleRate).toFixed(2)} s at ${r.sampleRate} Hz (${r.finishReason === 'stop' ? 'ended by the model' : 'cut at the limit'})`;
    showTimings($('tts-timings'), r.timings);
    state('tts', 'done');
  } catch (e) {
    $('tts-info').textContent = '';
    showError(err, e);
    state('tts', 'error');
  }
}

async function start(): Promise<void> {
  state('model', 'loading');
  try {
    await chooseBackend();
    const model = await loadModel();
    const input = $<HTMLInputElement>('wav-input');
    input.addEventListener('change', () => {
      const file = input.files?.[0];
      input.value = '';
      if (!file) return;
      void (async () => {
        if (file.size > MAX_WAV_BYTES) {
          showError(
            $('asr-error'),
            new Error(
              `${file.name} is ${mb(file.size)}, above the upload limit of ${MAX_WAV_BYTES / 2 ** 20} MiB; cut the audio to ${model.maxAudioSeconds.toFixed(1)} s at most`,
            ),
          );
          state('asr', 'error');
          return;
        }
        await transcribe(model, new Uint8Array(await file.arrayBuffer()), file.name);
      })();
    });
    const rec = recorder(model);
    $('record').addEventListener('click', () => void rec());
    $('speak').addEventListener('click', () => void speak(model));
    for (const id of ['wav-input', 'record', 'speak', 'tts-text']) $<HTMLInputElement>(id).disabled = false;
    state('model', 'ready');
  } catch (e) {
    showError($('load-status'), e);
    $('load-status').classList.add('error');
    state('model', 'error');
  }
}

void start();
