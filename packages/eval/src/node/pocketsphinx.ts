/**
 * Pocketsphinx (CMU Sphinx, Debian `pocketsphinx` + `pocketsphinx-en-us`) as an independent
 * speech recognizer: WAV files in, one lowercase transcript per file out. Used for the peer row
 * of the ASR evaluation and to transcribe synthesized speech (TTS WER, the vocoder's WER).
 *
 * Two ways to run it:
 * - `batch` (default): `pocketsphinx_batch` over a control file, each file decoded as one whole
 *   utterance (no voice-activity segmentation), one process per job for many files (the acoustic
 *   model loads once per job). The files are linked into a temporary folder under fixed names
 *   (`u<i>.wav`), so any path works (the control file splits at spaces); the folder is removed
 *   afterwards, also when SIGINT, SIGTERM or SIGHUP ends the process (`cleanupOnExit`).
 * - `continuous`: `pocketsphinx_continuous -infile FILE` per file (its own silence segmentation;
 *   what tools/speech/eval-wer.ts measured the vocoder with, see tools/speech/RESULTS.md).
 * Both read the default en-us acoustic model, language model and dictionary of
 * `pocketsphinx-en-us`. Input: 16 kHz mono 16-bit PCM WAV with the canonical 44-byte header
 * (what `zipper data build` and @zipper/tokenizers' `writeWav(x, 16000, 'pcm16')` write);
 * anything else is refused with `RecognizerError` (pocketsphinx would skip 44 bytes and decode
 * garbage). Output: whitespace collapsed, lowercase; an utterance with no words gives ''.
 */
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanupOnExit, runProgram } from '@zipper/common/node';
import { RecognizerError, RecognizerMissingError } from './errors.js';

export type PocketsphinxMode = 'batch' | 'continuous';

export interface PocketsphinxOptions {
  /** Default 'batch'. */
  readonly mode?: PocketsphinxMode;
  /** Recognizer processes at once (default: min(2, cores)). Results do not depend on it. */
  readonly jobs?: number;
  /** Environment (PATH) the programs are looked up in and run with. */
  readonly env?: NodeJS.ProcessEnv;
  /** Called after each finished file (batch: after each job's files). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** The Debian packages that provide the recognizer and its model. */
export const POCKETSPHINX_PACKAGES = ['pocketsphinx', 'pocketsphinx-en-us'] as const;
/** Where pocketsphinx-en-us installs the acoustic model (checked before a run). */
export const POCKETSPHINX_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us/en-us';

const PROGRAMS: Readonly<Record<PocketsphinxMode, string>> = { batch: 'pocketsphinx_batch', continuous: 'pocketsphinx_continuous' };
const install = () =>
  `${typeof process.getuid === 'function' && process.getuid() === 0 ? '' : 'sudo '}apt-get install -y ${POCKETSPHINX_PACKAGES.join(' ')}`;

/** Absolute path of the recognizer program of `mode`; throws RecognizerMissingError with the install command. */
export function findPocketsphinx(mode: PocketsphinxMode = 'batch', env: NodeJS.ProcessEnv = process.env): string {
  const name = PROGRAMS[mode];
  if (name === undefined) throw new RecognizerError(`unknown pocketsphinx mode "${String(mode)}"; use batch or continuous`);
  for (const dir of (env['PATH'] ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, constants.X_OK);
      if (!existsSync(POCKETSPHINX_MODEL_DIR))
        throw new RecognizerMissingError(
          `pocketsphinx's English model ${POCKETSPHINX_MODEL_DIR} is missing; install it with: ${install()}`,
        );
      return p;
    } catch (e) {
      if (e instanceof RecognizerMissingError) throw e;
    }
  }
  throw new RecognizerMissingError(
    `program "${name}" not found on PATH (the independent speech recognizer); install it with: ${install()}`,
  );
}

/** Checks that `file` is a 16 kHz mono 16-bit PCM WAV whose samples start at byte 44. */
export function checkRecognizerWav(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new RecognizerError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const h = Buffer.alloc(44);
  let n: number;
  try {
    n = readSync(fd, h, 0, 44, 0);
  } finally {
    closeSync(fd);
  }
  const tag = (at: number) => h.toString('latin1', at, at + 4);
  const why =
    n < 44 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE'
      ? 'not a RIFF/WAVE file'
      : tag(12) !== 'fmt ' || h.readUInt32LE(16) !== 16 || tag(36) !== 'data'
        ? 'its header is not the canonical 44 bytes (fmt of 16 bytes, then data)'
        : h.readUInt16LE(20) !== 1 || h.readUInt16LE(34) !== 16
          ? 'not 16-bit PCM'
          : h.readUInt16LE(22) !== 1
            ? `${h.readUInt16LE(22)} channels, not mono`
            : h.readUInt32LE(24) !== 16000
              ? `${h.readUInt32LE(24)} Hz, not 16000 Hz`
              : undefined;
  if (why)
    throw new RecognizerError(
      `${file}: ${why}; pocketsphinx reads 16 kHz mono 16-bit PCM WAV with a 44-byte header (write it with writeWav(prepareAudio(audio, 16000), 16000, 'pcm16') of @zipper/tokenizers, or sox -r 16000 -c 1 -b 16)`,
    );
}

/** Runs a program; resolves to its stdout, rejects with RecognizerError naming the exit code and stderr (or `logFile`'s tail). */
async function run(bin: string, args: readonly string[], env: NodeJS.ProcessEnv, logFile?: string): Promise<string> {
  let r;
  try {
    r = await runProgram(bin, args, env);
  } catch (e) {
    throw new RecognizerError(`${bin} failed to start: ${(e as Error).message}`);
  }
  if (r.code === 0) return r.stdout.toString('utf8');
  const log = logFile && existsSync(logFile) ? readFileSync(logFile, 'utf8') : r.stderr.toString('utf8');
  const tail = log.trim().split('\n').slice(-3).join(' | ').slice(0, 500);
  throw new RecognizerError(`${path.basename(bin)} exited with ${r.code ?? r.signal}: ${tail || '(no output)'}`);
}

const clean = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();

/** Contiguous chunks of 0..n-1, `k` of them at most (the first ones one longer). */
function chunks(n: number, k: number): number[][] {
  const out: number[][] = [];
  const parts = Math.max(1, Math.min(k, n));
  let at = 0;
  for (let j = 0; j < parts; j++) {
    const len = Math.floor(n / parts) + (j < n % parts ? 1 : 0);
    out.push(Array.from({ length: len }, (_, i) => at + i));
    at += len;
  }
  return out;
}

/** `pocketsphinx_batch` hypothesis lines: `words (uttid score)`; uttid -> words. */
export function parseBatchHypotheses(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(.*?)\s*\((\S+)\s+-?\d+(?:\.\d+)?\)\s*$/.exec(line);
    if (m) out.set(m[2]!, clean(m[1]!));
  }
  return out;
}

async function batch(
  bin: string,
  files: readonly string[],
  jobs: number,
  env: NodeJS.ProcessEnv,
  onProgress?: (done: number, total: number) => void,
): Promise<string[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'zipper-pocketsphinx-'));
  const remove = () => rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  // also when a signal ends the process (runProgram raises it again before this finally could run)
  const forget = cleanupOnExit(remove);
  try {
    files.forEach((f, i) => symlinkSync(path.resolve(f), path.join(tmp, `u${i}.wav`)));
    const out: string[] = new Array<string>(files.length);
    let done = 0;
    await Promise.all(
      chunks(files.length, jobs).map(async (ids, j) => {
        const ctl = path.join(tmp, `job${j}.ctl`);
        const hyp = path.join(tmp, `job${j}.hyp`);
        const log = path.join(tmp, `job${j}.log`);
        writeFileSync(ctl, ids.map((i) => `u${i}\n`).join(''));
        await run(
          bin,
          ['-adcin', 'yes', '-adchdr', '44', '-cepdir', tmp, '-cepext', '.wav', '-ctl', ctl, '-hyp', hyp, '-logfn', log],
          env,
          log,
        );
        const got = parseBatchHypotheses(existsSync(hyp) ? readFileSync(hyp, 'utf8') : '');
        for (const i of ids) {
          const h = got.get(`u${i}`);
          if (h === undefined)
            throw new RecognizerError(
              `pocketsphinx_batch wrote no hypothesis for ${files[i]}; its log: ${readFileSync(log, 'utf8').trim().split('\n').slice(-3).join(' | ').slice(0, 500)}`,
            );
          out[i] = h;
        }
        done += ids.length;
        onProgress?.(done, files.length);
      }),
    );
    return out;
  } finally {
    forget();
    remove();
  }
}

async function continuous(
  bin: string,
  files: readonly string[],
  jobs: number,
  env: NodeJS.ProcessEnv,
  onProgress?: (done: number, total: number) => void,
): Promise<string[]> {
  const out: string[] = new Array<string>(files.length);
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(jobs, files.length)) }, async () => {
      while (next < files.length) {
        const i = next++;
        out[i] = clean(await run(bin, ['-infile', path.resolve(files[i]!), '-logfn', '/dev/null'], env));
        onProgress?.(++done, files.length);
      }
    }),
  );
  return out;
}

/** Transcripts of `files` (16 kHz mono 16-bit WAVs), in order. Deterministic: same files, same transcripts, for any `jobs`. */
export async function transcribeWavFiles(files: readonly string[], options: PocketsphinxOptions = {}): Promise<string[]> {
  const mode = options.mode ?? 'batch';
  const env = options.env ?? process.env;
  const jobs = options.jobs ?? Math.max(1, Math.min(2, os.availableParallelism()));
  if (!Number.isInteger(jobs) || jobs < 1) throw new RecognizerError(`jobs must be a positive integer, got ${String(jobs)}`);
  const bin = findPocketsphinx(mode, env);
  if (files.length === 0) return [];
  for (const f of files) checkRecognizerWav(f);
  return mode === 'batch' ? batch(bin, files, jobs, env, options.onProgress) : continuous(bin, files, jobs, env, options.onProgress);
}
