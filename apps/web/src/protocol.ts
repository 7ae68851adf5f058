/**
 * Messages between the page (main.ts) and the model worker (worker.ts). The model, the TF.js
 * backend and every decode live in the worker, so the page stays responsive, shows decode
 * progress, and can stop a request (by ending the worker and starting a fresh one).
 */
import type { BrowserBackendName, FetchProgress } from '@zipper/core';
import type { Decoder, Timings } from './model.js';

export interface ModelIndex {
  readonly ok: boolean;
  readonly error?: string;
  readonly model?: string;
  readonly run: { url: string; name: string; version: string | null };
  readonly towers: Record<'text' | 'speech', { url: string; name: string; version: string | null }>;
}

export type ToWorker =
  | {
      readonly type: 'init';
      readonly order: readonly BrowserBackendName[];
      /** True when the page forced the order (?backend=): a software WebGL is then used too. */
      readonly forced: boolean;
      readonly wasmPaths: Readonly<Record<string, string>>;
      /** Absolute URLs of the run and the towers. */
      readonly urls: { readonly run: string; readonly text: string; readonly speech: string };
    }
  | { readonly type: 'transcribe'; readonly id: number; readonly wav: Uint8Array; readonly decoder: Decoder }
  | { readonly type: 'speak'; readonly id: number; readonly text: string; readonly seed: number };

export interface WorkerError {
  readonly name: string;
  readonly message: string;
  /** A ZipperError: its message says what to do and stands alone. */
  readonly ours: boolean;
}

export type FromWorker =
  | {
      readonly type: 'backend';
      readonly backend: BrowserBackendName;
      readonly simd: boolean;
      readonly threads: number;
      readonly skipped: readonly string[];
      /** The WebGL renderer when it was skipped as a software one. */
      readonly software?: string;
    }
  | { readonly type: 'progress'; readonly progress: FetchProgress }
  | {
      readonly type: 'ready';
      readonly loadMs: number;
      readonly maxAudioSeconds: number;
      readonly maxTextTokens: number;
      readonly decoders: readonly Decoder[];
    }
  | { readonly type: 'tokens'; readonly id: number; readonly count: number }
  | {
      readonly type: 'transcript';
      readonly id: number;
      readonly text: string;
      readonly decoder: Decoder;
      readonly seconds: number;
      readonly units: number;
      readonly tokens: number;
      readonly finishReason: string;
      readonly timings: Timings;
      /** The gain in dB the lexicon search heard the audio at, where the package fits the level. */
      readonly levelDb?: number;
      /** The lexicon search only: words spelled from their letters, and words of the word LM's dictionary. */
      readonly unknownWords?: number;
      readonly dictionaryWords?: number;
    }
  | {
      readonly type: 'speech';
      readonly id: number;
      readonly text: string;
      readonly units: number;
      readonly samples: number;
      readonly sampleRate: number;
      readonly wav: Uint8Array<ArrayBuffer>;
      readonly finishReason: string;
      readonly timings: Timings;
    }
  | { readonly type: 'error'; readonly id?: number; readonly error: WorkerError };
