/**
 * `zipper continue text|speech`: a lone pretrained tower continues a prompt, with nothing but its
 * own package (@zipper/text's TextTower or @zipper/speech's SpeechTower) and @zipper/core's
 * generate: the "each tower package stays usable alone" check of a checkpoint package.
 *
 *   text:   --prompt "..." -> <bos> BPE ids -> generate until <eos> or --max-tokens -> stdout
 *   speech: --in prompt.wav -> first --prompt-seconds -> units (the tower's own tokenizer) ->
 *           <bos> units -> generate --seconds of units -> vocoder -> --out WAV (atomic)
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { generate, initBackend, readTowerCheckpointInfo, resolveModelLocation, writeFileAtomic, type SamplingConfig } from '@zipper/core';
import { SpeechTower } from '@zipper/speech';
import { TextTower } from '@zipper/text';
import { prepareAudio, readWavFile, writeWav } from '@zipper/tokenizers';
import { fsReason, intArg, modalityArg, numArg, parse, seedArg, topPArg } from '../args.js';
import { OutputError, UsageError, type Command } from '../command.js';

const USAGE = `usage:
  zipper continue text   --model DIR|PACKAGE --prompt "..." [--max-tokens 64] [--seed 0]
                         [--temperature 0] [--top-k 0] [--top-p 1] [--json]
  zipper continue speech --model DIR|PACKAGE --in PROMPT.wav --out MORE.wav [--seconds 3]
                         [--prompt-seconds 1] [--only-continuation] [--seed 0]
                         [--temperature 0.8] [--top-k 0] [--top-p 1] [--json]

--model: a tower directory (the --out of zipper pretrain, or its package/ folder) or the name of
an installed checkpoint package (e.g. @zipper/checkpoint-text-small).
text:   continues <bos> + the prompt's byte-level BPE ids until <eos> or --max-tokens new tokens
        (and the tower's maxSeqLen). stdout is the continuation alone, then a newline (--json: one
        JSON line with the prompt, continuation, token count and finish reason).
speech: the first --prompt-seconds of --in (any WAV: channels averaged, resampled to the
        tokenizer's rate) -> units with the tower's own speech tokenizer -> --seconds more units
        -> its vocoder. --out holds the prompt audio followed by the continuation
        (--only-continuation: the continuation alone), written atomically. The tower may not end
        the utterance before --seconds (its <eos> is masked until then), so the continuation has
        the length asked for. Prompt plus continuation must fit the tower's maxSeqLen (units/s x
        seconds + 1).
Sampling: --temperature 0 is greedy; --seed fixes a sampled continuation.`;

const OPTIONS = {
  model: { type: 'string' },
  prompt: { type: 'string' },
  'max-tokens': { type: 'string' },
  in: { type: 'string' },
  out: { type: 'string' },
  seconds: { type: 'string' },
  'prompt-seconds': { type: 'string' },
  'only-continuation': { type: 'boolean', default: false },
  seed: { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The sampling options of both modes (temperature default differs: greedy text, sampled speech). */
function sampling(v: { temperature?: string; 'top-k'?: string; 'top-p'?: string }, temperature: number): SamplingConfig {
  return {
    temperature: numArg(v.temperature, 'temperature', temperature),
    topK: intArg(v['top-k'], 'top-k', 0),
    topP: topPArg(v['top-p']),
  };
}

export interface UnitContinuation {
  /** Generated units (no <bos>/<eos>): exactly the count asked for. */
  readonly units: Uint16Array;
}

/**
 * `count` units after `<bos> promptUnits` from the speech tower: the tower may not end the
 * utterance before (its <eos> and <bos> are masked until `count` units exist: `minNewTokens`), so
 * the continuation has the length asked for. Throws UsageError when it cannot fit maxSeqLen.
 */
export async function continueUnits(
  model: SpeechTower,
  promptUnits: ArrayLike<number>,
  count: number,
  s: SamplingConfig & { seed: number },
): Promise<UnitContinuation> {
  const { bos, eos } = model.vocab;
  const ids = [bos, ...Array.from(promptUnits)];
  const max = model.tower.config.maxSeqLen;
  if (ids.length + count > max) {
    throw new UsageError(
      `the prompt (${promptUnits.length} units + <bos>) and ${count} new units need ${ids.length + count} positions; the tower's maxSeqLen is ${max} (${model.tokenizer.unitRate} units/s): ask for fewer seconds`,
    );
  }
  const r = await generate(model.tower, ids, { ...s, maxNewTokens: count, minNewTokens: count, stopTokens: [eos, bos] });
  return { units: Uint16Array.from(r.tokens[0] ?? []) };
}

/** Writes `data` to `file` atomically (temporary sibling + rename); a folder that does not exist is a usage error. */
export async function writeOutputAtomic(file: string, data: Uint8Array, option: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UsageError(`cannot write ${option} ${file}: the folder ${dir} does not exist; create it first`);
  if (existsSync(file) && statSync(file).isDirectory()) throw new UsageError(`cannot write ${option} ${file}: is a folder, not a file`);
  try {
    await writeFileAtomic(file, data);
  } catch (e) {
    throw new OutputError(`cannot write ${option} ${file}: ${fsReason(e)}`);
  }
}

/** The model's directory (a path or an installed package's name), refused when it holds the other modality's tower. */
export async function towerDir(nameOrDir: string, modality: 'text' | 'speech'): Promise<string> {
  const dir = resolveModelLocation(nameOrDir);
  const { metadata } = await readTowerCheckpointInfo(path.join(dir, 'tower'));
  const saved = metadata.user['modality'];
  if (saved !== undefined && saved !== modality)
    throw new UsageError(`${dir} holds a ${String(saved)} tower, not ${modality}; use zipper continue ${String(saved)}`);
  return dir;
}

async function continueText(v: Values): Promise<number> {
  if (v.prompt === undefined) throw new UsageError(`--prompt "..." is required\n\n${USAGE}`);
  for (const k of ['in', 'out', 'seconds', 'prompt-seconds'] as const)
    if (v[k] !== undefined) throw new UsageError(`--${k} is for continue speech`);
  const s = sampling(v, 0);
  const seed = seedArg(v.seed);
  const maxNewTokens = intArg(v['max-tokens'], 'max-tokens', 64, 1);
  await initBackend();
  const dir = await towerDir(v.model!, 'text');
  const model = await TextTower.load(dir);
  try {
    const promptTokens = model.tokenizer.encode(v.prompt).length;
    const max = model.tower.config.maxSeqLen;
    if (promptTokens + 1 >= max)
      throw new UsageError(`the prompt is ${promptTokens} tokens + <bos>; the tower's maxSeqLen is ${max}: shorten it`);
    const r = await model.complete(v.prompt, { ...s, seed, maxNewTokens });
    if (v.json)
      console.log(
        JSON.stringify({
          model: dir,
          prompt: v.prompt,
          promptTokens,
          continuation: r.text,
          tokens: r.ids.length,
          finishReason: r.finishReason,
        }),
      );
    else console.log(r.text);
  } finally {
    model.dispose();
  }
  return 0;
}

async function continueSpeech(v: Values): Promise<number> {
  if (!v.in) throw new UsageError(`--in PROMPT.wav is required\n\n${USAGE}`);
  if (!v.out) throw new UsageError(`--out MORE.wav is required\n\n${USAGE}`);
  for (const k of ['prompt', 'max-tokens'] as const)
    if (v[k] !== undefined) throw new UsageError(`--${k} is for continue text; speech takes --seconds`);
  const s = sampling(v, 0.8);
  const seed = seedArg(v.seed);
  const seconds = numArg(v.seconds, 'seconds', 3);
  const promptSeconds = numArg(v['prompt-seconds'], 'prompt-seconds', 1);
  if (!(seconds > 0) || !(promptSeconds > 0)) throw new UsageError('--seconds and --prompt-seconds must be > 0');
  let wav;
  try {
    wav = readWavFile(v.in);
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code) throw new UsageError(`cannot read --in ${v.in}: ${fsReason(e)}`);
    throw e;
  }
  await initBackend();
  const dir = await towerDir(v.model!, 'speech');
  const model = await SpeechTower.load(dir);
  try {
    const rate = model.tokenizer.features.sampleRate;
    const audio = prepareAudio(wav, rate);
    const prompt = audio.subarray(0, Math.min(audio.length, Math.round(promptSeconds * rate)));
    const promptUnits = model.tokenizer.encode(prompt);
    if (promptUnits.length === 0)
      throw new UsageError(`--in ${v.in} holds ${(audio.length / rate).toFixed(3)} s of audio: too short for one unit`);
    const count = Math.max(1, Math.round(seconds * model.tokenizer.unitRate));
    const c = await continueUnits(model, promptUnits, count, { ...s, seed });
    const more = c.units.length > 0 ? model.tokenizer.decode(c.units) : new Float32Array(0);
    const samples = v['only-continuation'] ? more : concat(prompt, more);
    await writeOutputAtomic(v.out, writeWav(samples, rate), '--out');
    const info = {
      model: dir,
      in: path.resolve(v.in),
      out: path.resolve(v.out),
      sampleRate: rate,
      promptSeconds: +(prompt.length / rate).toFixed(3),
      promptUnits: promptUnits.length,
      units: c.units.length,
      continuationSeconds: +(more.length / rate).toFixed(3),
      seconds: +(samples.length / rate).toFixed(3),
      includesPrompt: !v['only-continuation'],
    };
    if (v.json) console.log(JSON.stringify(info));
    else
      console.log(
        `wrote ${info.out}: ${info.promptSeconds} s prompt (${info.promptUnits} units) + ${info.continuationSeconds} s continuation (${info.units} units)${info.includesPrompt ? '' : ', continuation only'}`,
      );
  } finally {
    model.dispose();
  }
  return 0;
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

type Values = ReturnType<typeof parse<typeof OPTIONS>>['values'];

export const continueCommand: Command = {
  name: 'continue',
  summary: 'continue a text prompt or an audio prompt (WAV) with a lone pretrained tower (DIR or checkpoint package)',
  async run(argv) {
    const { values: v, positionals } = parse(argv, OPTIONS, USAGE, { positionals: true });
    if (v.help) {
      console.log(USAGE);
      return 0;
    }
    const modality = modalityArg(positionals, USAGE);
    if (!v.model) throw new UsageError(`--model DIR|PACKAGE is required\n\n${USAGE}`);
    return modality === 'text' ? continueText(v) : continueSpeech(v);
  },
};
