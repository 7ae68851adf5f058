/**
 * Where a saved model's files come from, for every loader (tower checkpoints, tokenizers, text and
 * speech towers, fused checkpoints): a `ModelFiles` reads a file by its path relative to a model
 * directory, so one loader serves a directory on disk (Node) and a URL (a browser's fetch).
 *
 * - `fetchModelFiles(baseUrl, { onProgress })` (any platform with `fetch`): GET base + path,
 *   streamed, with a progress callback per file.
 * - `directoryFiles(dir)` (Node, node-files.ts): fs reads under a directory.
 * - Names (a path, or an installed checkpoint package's name) need the file system, which Node
 *   entries register here (`setModelFileSystem`, node-files.ts); `openModelFiles(nameOrDir)` and
 *   the savers use it. In a browser there is no file system: pass a `ModelFiles` instead.
 */
import type { WriteHook } from '@zipper/common/node';
import { CheckpointError } from '../errors.js';

export interface ModelFiles {
  /** The directory or URL these paths are relative to (for messages). */
  readonly location: string;
  /** The bytes of `path` (relative, `/`-separated, may start with `../`); CheckpointError when missing. */
  read(path: string): Promise<Uint8Array>;
  /** The files under the subdirectory `path` (relative like `read`'s). */
  at(path: string): ModelFiles;
}

/** One file to write, by name inside a directory. */
export interface ModelFile {
  readonly name: string;
  readonly data: Uint8Array;
}

/** What loading and saving by name or path needs from the platform (Node: node-files.ts). */
export interface ModelFileSystem {
  /** A model directory, or the directory of an installed checkpoint package (resolved from `from`). */
  open(nameOrDir: string, options?: { from?: string }): ModelFiles;
  /** A checkpoint directory, or its `.prev` backup after a crashed save; undefined when neither exists. */
  openCheckpoint(dir: string): Promise<ModelFiles | undefined>;
  /**
   * Writes a checkpoint directory atomically (all files or none); a failure on the device says
   * whether `what` (e.g. "the tower") saved before is intact. `hook`: fault injection for tests.
   */
  writeCheckpoint(dir: string, files: readonly ModelFile[], options: { what: string; hook?: WriteHook }): Promise<void>;
  /** Writes files into `dir` (created if missing), one by one. */
  writeFiles(dir: string, files: readonly ModelFile[]): Promise<void>;
  /** Versions to record in a saved checkpoint's `createdWith` (runtime, packages). */
  versions(): Record<string, string>;
}

let platform: ModelFileSystem | undefined;

/** Installs the file system (done once by the Node entry of @zipper/core). */
export function setModelFileSystem(fs: ModelFileSystem): void {
  platform = fs;
}

/** The registered file system; CheckpointError when there is none (in a browser). */
export function modelFileSystem(): ModelFileSystem {
  if (!platform)
    throw new CheckpointError(
      'model directories and package names need a file system (Node); in a browser, load from a URL: pass fetchModelFiles(url) instead of a path, and save under Node',
    );
  return platform;
}

/** `source` as ModelFiles: given ones as they are, a name or path through the file system. */
export function openModelFiles(source: string | ModelFiles, options: { from?: string } = {}): ModelFiles {
  return typeof source === 'string' ? modelFileSystem().open(source, options) : source;
}

/** A checkpoint directory (with the `.prev` fallback) or given ModelFiles; CheckpointError(`missing(dir)`) when neither exists. */
export async function openCheckpointFiles(source: string | ModelFiles, missing: (dir: string) => string): Promise<ModelFiles> {
  if (typeof source !== 'string') return source;
  const files = await modelFileSystem().openCheckpoint(source);
  if (!files) throw new CheckpointError(missing(source));
  return files;
}

/** `a` then `b` joined with `/` (for messages and URLs); `b` absolute stays as is. */
export function joinLocation(a: string, b: string): string {
  if (b.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(b)) return b;
  return a.endsWith('/') ? a + b : `${a}/${b}`;
}

/** The text of `path` (UTF-8). */
export async function readModelText(files: ModelFiles, path: string): Promise<string> {
  return new TextDecoder().decode(await files.read(path));
}

/** The JSON object in `path`; CheckpointError naming the file when it is not one. */
export async function readModelJson(files: ModelFiles, path: string): Promise<Record<string, unknown>> {
  const where = joinLocation(files.location, path);
  let v: unknown;
  try {
    v = JSON.parse(await readModelText(files, path));
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`${where} is not valid JSON (${(e as Error).message}); the checkpoint is corrupted`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CheckpointError(`${where} must hold a JSON object`);
  return v as Record<string, unknown>;
}

/** Progress of one file of `fetchModelFiles`: bytes received, and the total when the server sent Content-Length. */
export interface FetchProgress {
  readonly url: string;
  readonly loaded: number;
  readonly total: number | undefined;
  readonly done: boolean;
}

export interface FetchModelFilesOptions {
  /** Called as each file's bytes arrive, and once more with `done: true`. */
  readonly onProgress?: (p: FetchProgress) => void;
  /** Default `globalThis.fetch`. */
  readonly fetch?: (url: string) => Promise<FetchResponse>;
}

/** The part of the Fetch API's Response used here. */
export interface FetchResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  readonly body: { getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }> } } | null;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** Resolves `path` against the directory URL `base` (which gets a trailing `/`). */
function urlOf(base: string, path: string): string {
  const dir = base.endsWith('/') ? base : `${base}/`;
  const origin = (globalThis as { location?: { href?: string } }).location?.href;
  return new URL(path, origin ? new URL(dir, origin) : dir).href;
}

async function readBody(url: string, res: FetchResponse, onProgress: FetchModelFilesOptions['onProgress']): Promise<Uint8Array> {
  const header = res.headers.get('content-length');
  const total = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
  if (!res.body || !onProgress) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    onProgress?.({ url, loaded: bytes.length, total: bytes.length, done: true });
    return bytes;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!value) continue;
    chunks.push(value);
    loaded += value.length;
    onProgress({ url, loaded, total, done: false });
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  onProgress({ url, loaded, total: loaded, done: true });
  return out;
}

/**
 * A host that answers every unknown path with its index page (a single-page app's fallback, as many
 * static hosts are configured) turns a missing model file into 200 and an HTML page: said so, rather
 * than a JSON or safetensors parse error about the page's bytes.
 */
function notTheFile(url: string, why: string): CheckpointError {
  return new CheckpointError(
    `cannot fetch ${url}: the server answered with an HTML page (${why}), not the file; a host that serves its index page for missing paths (a single-page-app fallback) does this when the file is not there; is the model (with this file) served there?`,
  );
}

/** Whether `bytes` open (after whitespace and a UTF-8 byte-order mark) with `<!doctype html` or `<html`. */
function looksLikeHtml(bytes: Uint8Array): boolean {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  const head = String.fromCharCode(...bytes.subarray(i, i + 14)).toLowerCase();
  return head.startsWith('<!doctype html') || head.startsWith('<html');
}

/** Model files served over HTTP(S) under `baseUrl` (absolute, or relative to the page). */
export function fetchModelFiles(baseUrl: string, options: FetchModelFilesOptions = {}): ModelFiles {
  const get = options.fetch ?? ((url: string) => (globalThis as unknown as { fetch: (u: string) => Promise<FetchResponse> }).fetch(url));
  return {
    location: baseUrl,
    at: (path) => fetchModelFiles(urlOf(baseUrl, path.endsWith('/') ? path : `${path}/`), options),
    async read(path) {
      const url = urlOf(baseUrl, path);
      let res: FetchResponse;
      try {
        res = await get(url);
      } catch (e) {
        throw new CheckpointError(`cannot fetch ${url}: ${(e as Error).message}; is the server running and the model served there?`);
      }
      if (!res.ok)
        throw new CheckpointError(`cannot fetch ${url}: HTTP ${res.status} ${res.statusText}; is the model (with this file) served there?`);
      const htmlIsWrong = !/\.html?$/i.test(path); // a model file is never an HTML page
      if (htmlIsWrong && /^\s*text\/html\b/i.test(res.headers.get('content-type') ?? '')) throw notTheFile(url, 'content-type text/html');
      const bytes = await readBody(url, res, options.onProgress);
      if (htmlIsWrong && looksLikeHtml(bytes)) throw notTheFile(url, 'its body starts like an HTML document');
      return bytes;
    },
  };
}
