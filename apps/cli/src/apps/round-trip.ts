/**
 * `zipper demo speech` (what `npm run demo` runs): the speech round trip with the shipped zipped
 * model. Speaks a sentence (default: the bundled sample's text) into OUT/speech.wav, transcribes
 * that WAV and the bundled assets/sample.wav (flite's slt reading the same sentence), and prints
 * the text, both transcripts and their word error rates; the last stdout line is one JSON object.
 * Transcripts come from the apps' default decoder (`auto`: the shipped model's lexicon search over
 * its CTC head); when that is not the text tower, the text tower's transcripts are printed too.
 */
import path from 'node:path';
import { roundTo as round } from '@zipper/common';
import { initBackend } from '@zipper/core';
import { scoreUtterance } from '@zipper/eval';
import { writeWav } from '@zipper/tokenizers';
import { parse, seedArg, writeOutputFile } from '../args.js';
import { sampleUtterance } from './assets.js';
import { atRate, readAudioInput } from './audio-input.js';
import { DEFAULT_MODEL, openAppModel } from './model.js';
import { makeOutDir } from './out-dir.js';
import { synthesize } from './synthesizer.js';
import { speechText } from './text-input.js';
import { transcribeAudio } from './transcriber.js';

export const SPEECH_DEMO_USAGE = `usage: zipper demo speech [--model DIR|PACKAGE] [--text "..."] [--seed 0] [--out runs/demo-speech]

The speech round trip with a zipped model (default ${DEFAULT_MODEL}): speaks --text (default:
the bundled sample's sentence) into OUT/speech.wav, then transcribes that WAV and the bundled
assets/sample.wav (flite's slt voice reading the sample sentence), and prints the text, both
transcripts and their word error rates against the text. The last stdout line is one JSON object.
(\`zipper demo text\`, or \`zipper demo\` with its options, is the text-tower training demo.)`;

const OPTIONS = {
  model: { type: 'string' },
  text: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const wer = (ref: string, hyp: string): number => {
  const w = scoreUtterance(ref, hyp).words;
  return w.n === 0 ? 0 : round((w.sub + w.del + w.ins) / w.n, 4);
};

export async function runSpeechDemo(argv: readonly string[]): Promise<number> {
  const { values: v } = parse(argv, OPTIONS, SPEECH_DEMO_USAGE);
  if (v.help) {
    console.log(SPEECH_DEMO_USAGE);
    return 0;
  }
  const seed = seedArg(v.seed);
  const sample = sampleUtterance();
  const text = speechText(v.text ?? sample.text, '--text');
  const said = text.chunks.join(' ');
  const out = v.out ?? path.join('runs', 'demo-speech');
  makeOutDir(out);
  const sampleAudio = readAudioInput(sample.wav);
  const t0 = performance.now();
  const info = await initBackend();
  const app = await openAppModel(v.model);
  try {
    const log = (s: string) => process.stderr.write(`${s}\n`);
    log(`model ${app.location} loaded in ${app.loadSeconds.toFixed(1)} s (${info.backend})`);
    const speech = await synthesize(app, text, { seed });
    const wav = path.join(out, 'speech.wav');
    writeOutputFile(wav, writeWav(speech.audio, speech.sampleRate, 'pcm16'), '--out');
    const spokenSeconds = speech.audio.length / speech.sampleRate;
    const rate = app.m.speech.features.sampleRate;
    const inputs = [atRate(readAudioInput(wav), rate), atRate(sampleAudio, rate)];
    const [back, heard] = await transcribeAudio(app, inputs);
    // when the default decoder is not the text tower, the paper's decoder transcribes too
    const [backText, heardText] = back!.decoder !== 'attention' ? await transcribeAudio(app, inputs, { decoder: 'attention' }) : [];
    const result = {
      model: app.location,
      text: said,
      decoder: back!.decoder,
      speech: {
        wav: path.resolve(wav),
        seconds: round(spokenSeconds, 2),
        units: speech.units,
        transcript: back!.text,
        wer: wer(said, back!.text),
        ...(backText ? { attention: { transcript: backText.text, wer: wer(said, backText.text) } } : {}),
      },
      sample: {
        wav: sample.wav,
        text: sample.text,
        transcript: heard!.text,
        wer: wer(sample.text, heard!.text),
        ...(heardText ? { attention: { transcript: heardText.text, wer: wer(sample.text, heardText.text) } } : {}),
      },
      seconds: round((performance.now() - t0) / 1000, 2),
    };
    console.log(`said:          ${said}`);
    console.log(`spoke:         ${wav} (${result.speech.seconds} s of speech)`);
    console.log(`heard back:    ${back!.text}   (WER ${result.speech.wer}; decoder ${back!.decoder})`);
    if (result.speech.attention)
      console.log(`  (text tower): ${result.speech.attention.transcript}   (WER ${result.speech.attention.wer})`);
    const shown = path.relative(process.cwd(), sample.wav);
    console.log(`bundled WAV:   ${shown.startsWith('..') ? sample.wav : shown} (flite slt: "${sample.text}")`);
    console.log(`heard:         ${heard!.text}   (WER ${result.sample.wer}; decoder ${heard!.decoder})`);
    if (result.sample.attention)
      console.log(`  (text tower): ${result.sample.attention.transcript}   (WER ${result.sample.attention.wer})`);
    console.log(JSON.stringify(result));
    return 0;
  } finally {
    app.m.dispose();
  }
}
