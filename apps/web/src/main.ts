/**
 * The page: asks the server where the model is (/models/index.json), starts the model worker
 * (worker.ts: backend choice, loading, decoding) and wires upload / record -> transcript and
 * text -> <audio>, with a progress bar, decode progress, a Stop button and the step times.
 * `?backend=wasm|webgl|webgpu|cpu` forces a backend. Every failure is shown in the page; the
 * body's data-model / data-asr / data-tts attributes say what state each part is in (tests wait
 * on them).
 */
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { BROWSER_BACKEND_ORDER, type BrowserBackendName, type FetchProgress } from '@zipper/core';
import { writeWav } from '@zipper/tokenizers';
import { MAX_TEXT_CHARS, MAX_WAV_BYTES } from './limits.js';
import type { Decoder, Timings } from './model.js';
import type { FromWorker, ModelIndex, ToWorker, WorkerError } from './protocol.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const state = (part: 'model' | 'asr' | 'tts', value: string): void => void (document.body.dataset[part] = value);
const ms = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const abs = (url: string): string => new URL(url, location.href).href;

function showTimings(list: HTMLElement, timings: Timings, extra: string[] = []): void {
  list.replaceChildren(
    ...Object.entries(timings).map(([step, t]) => Object.assign(document.createElement('li'), { textContent: `${step}: ${ms(t)}` })),
    ...extra.map((e) => Object.assign(document.createElement('li'), { textContent: e })),
  );
}

/** ", 3 words spelled from letters (...)" for a count above 0 (the lexicon search's), else nothing. */
function wordsOf(count: number | undefined, what: string): string {
  return count ? `, ${count} word${count === 1 ? '' : 's'} ${what}` : '';
}

/** Our errors' messages say what to do and stand alone; anything else is shown with its class. */
function showError(el: HTMLElement, e: WorkerError | Error | string): void {
  el.hidden = false;
  if (typeof e === 'string') el.textContent = e;
  else if (('ours' in e && e.ours) || e.name === 'Error') el.textContent = e.message;
  else el.textContent = `${e.name}: ${e.message}`;
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

async function modelIndex(): Promise<ModelIndex> {
  const res = await fetch('/models/index.json');
  if (!res.ok) throw new Error(`the server has no /models/index.json (HTTP ${res.status}); serve the page with \`npm run web\``);
  const index = (await res.json()) as ModelIndex;
  if (!index.ok) throw new Error(`no model to run: ${index.error ?? 'unknown reason'}`);
  return index;
}

type Busy = { readonly kind: 'asr' | 'tts'; readonly id: number };

/** The model worker and the page around it; `restart()` ends a running request by replacing the worker. */
class App {
  private worker: Worker | undefined;
  private busy: Busy | undefined;
  private nextId = 1;
  private maxAudioSeconds = 0;

  constructor(private readonly index: ModelIndex) {}

  start(): void {
    state('model', 'loading');
    this.enable(false);
    $<HTMLProgressElement>('load-progress').value = 0;
    const forced = new URLSearchParams(location.search).get('backend');
    const w = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    this.worker = w;
    const onProgress = progressTracker();
    w.onmessage = (e: MessageEvent<FromWorker>) => this.receive(e.data, onProgress);
    w.onerror = (e) => this.loadFailed(new Error(`the model worker failed: ${e.message}`));
    const init: ToWorker = {
      type: 'init',
      order: forced ? [forced as BrowserBackendName] : BROWSER_BACKEND_ORDER,
      forced: forced !== null,
      wasmPaths: {
        'tfjs-backend-wasm.wasm': abs(wasmPlain),
        'tfjs-backend-wasm-simd.wasm': abs(wasmSimd),
        'tfjs-backend-wasm-threaded-simd.wasm': abs(wasmThreaded),
      },
      urls: { run: abs(this.index.run.url), text: abs(this.index.towers.text.url), speech: abs(this.index.towers.speech.url) },
    };
    w.postMessage(init);
  }

  /** Ends the running request: the worker is replaced and the model loaded again (from the browser's cache). */
  stop(): void {
    const busy = this.busy;
    this.worker?.terminate();
    this.busy = undefined;
    if (busy) {
      showError($(`${busy.kind}-error`), 'Stopped. The model is loading again; try a shorter input.');
      state(busy.kind, 'error');
    }
    this.start();
  }

  transcribe(wav: Uint8Array, source: string): void {
    clearError($('asr-error'));
    $('transcript').textContent = `Transcribing ${source}...`;
    $('asr-timings').replaceChildren();
    const decoder = $<HTMLSelectElement>('asr-decoder').value as Decoder;
    this.send('asr', (id) => ({ type: 'transcribe', id, wav, decoder }), [wav.buffer]);
  }

  speak(): void {
    clearError($('tts-error'));
    $('tts-info').textContent = 'Speaking...';
    $('tts-timings').replaceChildren();
    const seed = Number($<HTMLInputElement>('tts-seed').value || 0);
    const text = $<HTMLTextAreaElement>('tts-text').value;
    this.send('tts', (id) => ({ type: 'speak', id, text, seed }));
  }

  get audioLimit(): number {
    return this.maxAudioSeconds;
  }

  private send(kind: 'asr' | 'tts', message: (id: number) => ToWorker, transfer: Transferable[] = []): void {
    const id = this.nextId++;
    this.busy = { kind, id };
    state(kind, 'busy');
    this.enable(false);
    $<HTMLButtonElement>('stop').hidden = false;
    this.worker!.postMessage(message(id), transfer);
  }

  private finish(kind: 'asr' | 'tts', result: 'done' | 'error'): void {
    this.busy = undefined;
    $<HTMLButtonElement>('stop').hidden = true;
    this.enable(true);
    state(kind, result);
  }

  private enable(on: boolean): void {
    for (const id of ['wav-input', 'record', 'speak', 'tts-text', 'asr-decoder']) $<HTMLInputElement>(id).disabled = !on;
  }

  private loadFailed(e: WorkerError | Error): void {
    showError($('load-status'), e);
    $('load-status').classList.add('error');
    state('model', 'error');
  }

  private receive(m: FromWorker, onProgress: (p: FetchProgress) => void): void {
    switch (m.type) {
      case 'backend': {
        const detail = m.backend === 'wasm' ? ` (SIMD ${m.simd ? 'on' : 'off'}, ${m.threads} thread${m.threads === 1 ? '' : 's'})` : '';
        $('backend').textContent = `${m.backend}${detail}${m.software ? ' (WebGL skipped: software renderer)' : ''}`;
        $('backend').title = m.skipped.join('\n');
        document.body.dataset['backend'] = m.backend;
        return;
      }
      case 'progress':
        return onProgress(m.progress);
      case 'ready':
        this.maxAudioSeconds = m.maxAudioSeconds;
        for (const o of Array.from($<HTMLSelectElement>('asr-decoder').options)) {
          o.disabled = !m.decoders.includes(o.value as Decoder);
          if (o.disabled)
            o.title = o.value === 'lexicon' ? 'this model has no byte-label CTC head or word LM' : 'this model has no CTC head';
        }
        // the best decoder the model has, as zipper transcribe's auto
        $<HTMLSelectElement>('asr-decoder').value = m.decoders[0]!;
        $<HTMLProgressElement>('load-progress').value = 1;
        $('load-time').textContent = ms(m.loadMs);
        $('load-status').classList.remove('error');
        $('load-status').textContent =
          `Ready. Speech up to ${m.maxAudioSeconds.toFixed(1)} s per request (WAV files up to ${MAX_WAV_BYTES / 2 ** 20} MiB); text up to ${m.maxTextTokens} tokens and ${MAX_TEXT_CHARS} characters.`;
        Object.assign(document.body.dataset, {
          loadMs: m.loadMs.toFixed(0),
          maxAudioSeconds: m.maxAudioSeconds.toFixed(2),
          maxTextTokens: String(m.maxTextTokens),
        });
        this.enable(true);
        state('model', 'ready');
        return;
      case 'tokens':
        if (this.busy?.id !== m.id) return;
        if (this.busy.kind === 'asr') $('transcript').textContent = `Decoding... ${m.count} text tokens`;
        else $('tts-info').textContent = `Decoding... ${m.count} units (${(m.count / 50).toFixed(1)} s of speech)`;
        return;
      case 'transcript':
        $('transcript').textContent = m.text;
        showTimings($('asr-timings'), m.timings, [
          m.decoder === 'lexicon'
            ? `${m.seconds.toFixed(2)} s of audio${m.levelDb ? ` heard ${Math.abs(m.levelDb)} dB ${m.levelDb > 0 ? 'louder' : 'quieter'} (its level fitted)` : ''}, ${m.units} units, ${m.tokens} words${wordsOf(m.unknownWords, 'spelled from letters (not in the word LM)')}${wordsOf(m.dictionaryWords, "from the word LM's dictionary")}`
            : m.decoder === 'ctc'
              ? `${m.seconds.toFixed(2)} s of audio, ${m.units} units, ${m.tokens} CTC labels`
              : `${m.seconds.toFixed(2)} s of audio, ${m.units} units, ${m.tokens} text tokens (${m.finishReason === 'stop' ? 'ended by the model' : 'cut at the limit'})`,
        ]);
        return this.finish('asr', 'done');
      case 'speech': {
        const audio = $<HTMLAudioElement>('tts-audio');
        if (audio.src) URL.revokeObjectURL(audio.src);
        audio.src = URL.createObjectURL(new Blob([m.wav], { type: 'audio/wav' }));
        Object.assign(audio.dataset, { units: String(m.units), samples: String(m.samples), sampleRate: String(m.sampleRate) });
        $('tts-info').textContent =
          `"${m.text}": ${m.units} units, ${(m.samples / m.sampleRate).toFixed(2)} s at ${m.sampleRate} Hz (${m.finishReason === 'stop' ? 'ended by the model' : 'cut at the limit'})`;
        showTimings($('tts-timings'), m.timings);
        return this.finish('tts', 'done');
      }
      case 'error': {
        if (m.id === undefined) return this.loadFailed(m.error);
        const kind = this.busy?.id === m.id ? this.busy.kind : undefined;
        if (!kind) return;
        if (kind === 'asr') $('transcript').textContent = '';
        else $('tts-info').textContent = '';
        showError($(`${kind}-error`), m.error);
        return this.finish(kind, 'error');
      }
    }
  }
}

/** Records from the microphone until stopped (or the model's longest audio), then transcribes a WAV of it. */
function recorder(app: App): () => Promise<void> {
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
      const limit = setTimeout(() => rec.stop(), app.audioLimit * 1000);
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
            app.transcribe(writeWav(channels, audio.sampleRate, 'pcm16'), 'the recording');
          } catch (e) {
            showError($('asr-error'), e as Error);
            state('asr', 'error');
          }
        })();
      };
      rec.start();
      button.disabled = false;
      button.textContent = `Stop recording (max ${app.audioLimit.toFixed(0)} s)`;
    } catch (e) {
      showError($('asr-error'), `cannot record: ${(e as Error).message}; allow the microphone, or upload a WAV file`);
      state('asr', 'error');
    }
  };
}

async function main(): Promise<void> {
  state('model', 'loading');
  let index: ModelIndex;
  try {
    index = await modelIndex();
  } catch (e) {
    showError($('load-status'), e as Error);
    $('load-status').classList.add('error');
    state('model', 'error');
    return;
  }
  const named = (e: { name: string; version: string | null }) => `${e.name}${e.version ? `@${e.version}` : ''}`;
  $('model-name').textContent = `${named(index.run)} (towers ${named(index.towers.text)}, ${named(index.towers.speech)})`;
  const app = new App(index);
  const input = $<HTMLInputElement>('wav-input');
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    if (file.size > MAX_WAV_BYTES) {
      showError(
        $('asr-error'),
        `${file.name} is ${mb(file.size)}, above the upload limit of ${MAX_WAV_BYTES / 2 ** 20} MiB; cut the audio to ${app.audioLimit.toFixed(1)} s at most`,
      );
      state('asr', 'error');
      return;
    }
    void file.arrayBuffer().then((b) => app.transcribe(new Uint8Array(b), file.name));
  });
  const rec = recorder(app);
  $('record').addEventListener('click', () => void rec());
  $('speak').addEventListener('click', () => app.speak());
  $('stop').addEventListener('click', () => app.stop());
  app.start();
}

void main();
