import { buildArgs } from '@zipper/data';
import type { BuildSummary } from './build.js';
import type { DataBuildConfig } from './config.js';
import { NORMALIZATION } from './normalize.js';
import { DEV_OTHER_VOICES, SEEN_VOICES, TTS_VOICE, UNSEEN_VOICES } from './voices.js';

const PURPOSE: Record<string, string> = {
  'speech-only.jsonl': 'speech tower pretraining (unlabeled: no text field, only textSha256)',
  'aligned-tts': 'aligned pairs rendered by the TTS target voice',
  'aligned-asr': 'aligned pairs rendered by the other seen voices (ASR)',
  'dev.jsonl': 'validation (seen voices, unseen sentences)',
  'test-clean.jsonl': 'test: seen voices, unseen sentences',
  'test-other.jsonl': 'test: unseen voices, additive noise and tempo changes',
  'aligned-noisy': 'the aligned-asr renderings again with tempo changes and additive noise (--noisy)',
  'dev-noisy.jsonl': 'validation: dev again with tempo changes and additive noise (--noisy)',
  'dev-tts-voice.jsonl': 'validation: the dev sentences again, by the TTS voice (--tts-voice-sets)',
  'test-clean-tts-voice.jsonl': 'test: the test-clean sentences again, by the TTS voice (--tts-voice-sets)',
  'dev-other.jsonl': "validation: dev again by voices no other split uses, with test-other's effects (--dev-other)",
  'fresh-dev.jsonl': 'validation: sentences from --fresh-dev FILE in no split of the corpus, seen voices (--fresh-dev)',
  'fresh-dev-tts-voice.jsonl': 'validation: the fresh-dev sentences again, by the TTS voice (--fresh-dev)',
};

function purpose(file: string): string {
  return PURPOSE[file] ?? PURPOSE[file.split('.')[0]!] ?? '';
}

/** The generated data/README.md: what was built, how much, with which voices, by which rule. */
export function renderReadme(s: BuildSummary, cfg: DataBuildConfig): string {
  const rows = s.manifests.map((m) => `| ${m.file} | ${m.utterances} | ${m.hours.toFixed(3)} | ${m.voices.join(', ')} | ${purpose(m.file)} |`);
  const src = s.sources.map((x) => `| ${x.name} | ${x.debianPackage} | ${x.raw} | ${x.rejected} | ${x.duplicates} | ${x.kept} |`);
  return `# Zipper synthetic data (generated)

Built by \`zipper data build --out <this directory> ${buildArgs(s)}\`; rebuilding with the
same seed and the same Debian packages gives the same manifests and byte-identical audio.
Do not edit: rerun the command (it skips files that are done and verified by sha256).

All audio: WAV, ${s.sampleRate} Hz, mono, 16-bit PCM. Manifests are JSONL with
\`id, text, voice, duration, sampleRate, samples, path, sha256\` (paths relative to this directory).

## Text
\`${s.textOnly.file}\`: ${s.textOnly.sentences} sentences, ${(s.textOnly.bytes / 1e6).toFixed(2)} MB (text tower pretraining),
from a corpus of ${s.corpusSentences} unique normalized sentences:

| source | Debian package | raw sentences | rejected | duplicates | kept |
|---|---|---|---|---|---|
${src.join('\n')}

Normalization: NFKD without diacritics; sentences with code-like symbols rejected; numbers and
& % spelled out; lowercase; only a-z, apostrophes inside words and single spaces remain;
${NORMALIZATION.minWords}..${NORMALIZATION.maxWords} words, at most ${NORMALIZATION.maxChars} characters. Deduplicated after normalization.

## Audio
| manifest | utterances | hours | voices | purpose |
|---|---|---|---|---|
${rows.join('\n')}

Voices seen in training, dev and test-clean: ${SEEN_VOICES.map((v) => v.id).join(', ')}.
Voices only in test-other: ${UNSEEN_VOICES.map((v) => v.id).join(', ')}.
TTS target voice: ${TTS_VOICE.id} (CMU Arctic SLT, US English female).
test-other: tempo x${cfg.tempo[0]}..${cfg.tempo[1]} (sox tempo), then additive white or pink Gaussian
noise at ${cfg.snrDb[0]}..${cfg.snrDb[1]} dB SNR from the builder's own seeded PRNG (per-item values in the manifest).${
    cfg.noisy
      ? `
aligned-noisy.* and dev-noisy (--noisy): the aligned-asr and dev utterances again, same sentences and seen
voices, with effects drawn the same way (the voices of test-other stay unseen).`
      : ''
  }${
    cfg.ttsVoiceSets
      ? `
dev-tts-voice and test-clean-tts-voice (--tts-voice-sets): the dev and test-clean sentences again, every one
by the TTS voice, without effects.`
      : ''
  }${
    cfg.devOther
      ? `
dev-other (--dev-other): the dev sentences again, by voices of no other split (${DEV_OTHER_VOICES.map((v) => v.id).join(', ')}),
with effects drawn the same way: a dev set for test-other's conditions that shares none of its voices.`
      : ''
  }${
    s.freshDev
      ? `
fresh-dev and fresh-dev-tts-voice (--fresh-dev): ${s.freshDev.chosen} sentences of \`${s.freshDev.file}\` (sha256 ${s.freshDev.sha256})
that no split of the corpus holds, so nothing trained on this build saw them, by the seen voices as dev is and
again every one by the TTS voice, without effects. The file's sentences were normalized as the corpus's are; the
${s.freshDev.sentences} with ${cfg.audioWords[0]}..${cfg.audioWords[1]} words, in no split and not repeated, were shuffled with the seed and the first ${s.freshDev.chosen} taken.`
      : ''
  }

## Split rule
The sorted unique corpus is shuffled with the seed. Walking that order, the first sentences
with ${cfg.audioWords[0]}..${cfg.audioWords[1]} words fill the audio splits in turn (test-clean, test-other, dev, aligned,
speech-only) and every other sentence goes to text-only, so no sentence is in two splits.
Aligned pairs: the 1% subset is the first ceil(1% n) aligned sentences, 10% the first
ceil(10% n), so 1% is inside 10% is inside 100%; every aligned sentence is rendered twice,
by the TTS voice (aligned-tts.*) and by one other seen voice (aligned-asr.*).
`;
}
