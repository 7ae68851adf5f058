/**
 * The web demo end to end in headless Chromium (Debian `chromium`, driven by playwright-core
 * through its executable path; no browser is downloaded): the Vite dev server of `npm run web`
 * serves a tiny zipped run (tiny-run.ts), or the model ZIPPER_WEB_MODEL names (a run directory
 * or checkpoint package, e.g. @zipper/checkpoint-zipper-small), the page loads it, transcribes an
 * uploaded WAV as `zipper transcribe` does in Node: by default with the same decoder as its `auto`
 * and the same text; with the text tower selected WER and CER <= 0.1 against `--decoder attention`
 * (float sums differ between the page's backend and Node's); with the CTC head the same text as
 * `--decoder ctc`, and with joint CTC/attention search within the text tower's tolerance of
 * `--decoder joint`. It speaks text
 * into a playable <audio> whose length is units x samplesPerUnit, and answers bad input with a
 * message. The shipped model (what `npm run web` serves by default) transcribes a bundled WAV
 * within WER 0.5 of its text and speaks it at a plausible length; it fits the level it carries, hearing the
 * same WAV 6 dB quieter at the gain and with the transcript of `zipper transcribe`. A screenshot of each run goes to
 * apps/web/test-output/ (git-ignored), and the page's
 * load and step times are printed as one JSON line ("webTimings").
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveModelLocation } from '@zipper/core';
import { scoreUtterance } from '@zipper/eval';
import { readWavFile, scaleAudio, writeWav } from '@zipper/tokenizers';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build, createServer, preview, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuilt } from './built.js';
import { requireProgram } from '../../../tools/setup/system.mjs';
import { runZipper } from '../../cli/test/fuse-helpers.js';
import { MAX_TEXT_CHARS, MAX_WAV_BYTES } from '../src/limits.js';
import { tinyData } from '../../cli/test/fuse-helpers.js';
import { tinyFusedRun } from './tiny-run.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const web = path.join(repo, 'apps/web');
const shots = path.join(web, 'test-output');

/** The model as given (ZIPPER_WEB_MODEL) or the tiny run built here. */
const given = process.env['ZIPPER_WEB_MODEL'];
let model: string;
let tmp: string;
let data: string;
let server: ViteDevServer;
let url: string;
let browser: Browser;
/** The test utterance and `zipper transcribe --json`'s transcripts of it per --decoder (auto's: the one it chose). */
let wavFile: string;
const cli: Record<'auto' | 'attention' | 'ctc' | 'joint', { text: string; decoder: string }> = {
  auto: { text: '', decoder: '' },
  attention: { text: '', decoder: '' },
  ctc: { text: '', decoder: '' },
  joint: { text: '', decoder: '' },
};

const rate = (c: { n: number; sub: number; del: number; ins: number }) => (c.sub + c.del + c.ins) / Math.max(c.n, 1);

/** `run` with ZIPPER_WEB_MODEL set to `modelName` (the page's config reads it when a server or build starts), restored after. */
async function withModel<T>(modelName: string, run: () => Promise<T>): Promise<T> {
  const saved = process.env['ZIPPER_WEB_MODEL'];
  process.env['ZIPPER_WEB_MODEL'] = modelName;
  try {
    return await run();
  } finally {
    if (saved === undefined) delete process.env['ZIPPER_WEB_MODEL'];
    else process.env['ZIPPER_WEB_MODEL'] = saved;
  }
}

/** A Vite dev server of the page serving `modelName`, listening. */
function serveModel(modelName: string): Promise<ViteDevServer> {
  return withModel(modelName, async () => {
    const s = await createServer({
      configFile: path.join(web, 'vite.config.ts'),
      server: { port: 0, host: '127.0.0.1' },
      logLevel: 'error',
    });
    await s.listen();
    return s;
  });
}

async function openPage(query = '', base = url): Promise<Page> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${base}${query}`);
  await page.waitForFunction(() => document.body.dataset['model'] !== 'loading', null, { timeout: 120_000 });
  const state = await page.evaluate(() => document.body.dataset['model']);
  if (state !== 'ready')
    throw new Error(`the page did not load the model: ${await page.textContent('#load-status')} ${problems.join('; ')}`);
  return page;
}

async function upload(
  page: Page,
  file: { name: string; mimeType: string; buffer: Buffer } | string,
  timeout = 150_000,
): Promise<{ state: string; text: string; error: string }> {
  await page.evaluate(() => void (document.body.dataset['asr'] = 'waiting'));
  await page.setInputFiles('#wav-input', file);
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset['asr'] ?? ''), null, { timeout });
  return {
    state: (await page.evaluate(() => document.body.dataset['asr'])) ?? '',
    text: (await page.textContent('#transcript')) ?? '',
    error: (await page.textContent('#asr-error')) ?? '',
  };
}

async function speak(page: Page, text: string): Promise<{ state: string; error: string }> {
  await page.evaluate(() => void (document.body.dataset['tts'] = 'waiting'));
  await page.fill('#tts-text', text);
  await page.click('#speak');
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset['tts'] ?? ''), null, { timeout: 150_000 });
  return { state: (await page.evaluate(() => document.body.dataset['tts'])) ?? '', error: (await page.textContent('#tts-error')) ?? '' };
}

describe('web demo in headless Chromium', () => {
  beforeAll(async () => {
    const executablePath = requireProgram('chromium', 'chromium');
    requireBuilt(repo);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'zipper-web-'));
    if (given) {
      model = given;
      data = await tinyData('zipper-web-data-');
    } else {
      const tiny = await tinyFusedRun(tmp);
      model = tiny.run;
      data = tiny.data;
    }
    const first = readFileSync(path.join(data, 'test-clean.jsonl'), 'utf8').split('\n')[0]!;
    wavFile = path.join(data, (JSON.parse(first) as { path: string }).path);
    for (const decoder of ['auto', 'attention', 'ctc', 'joint'] as const) {
      const r = await runZipper(['transcribe', wavFile, '--model', model, '--decoder', decoder, '--json']);
      if (r.code !== 0) throw new Error(`zipper transcribe --decoder ${decoder} failed: ${r.stderr}`);
      const j = JSON.parse(r.stdout[r.stdout.length - 1]!) as { decoder: string; results: { text: string }[] };
      cli[decoder] = { text: j.results[0]!.text, decoder: j.decoder };
    }
    process.env['ZIPPER_WEB_MODEL'] = model;
    server = await serveModel(model);
    url = server.resolvedUrls!.local[0]!;
    browser = await chromium.launch({
      executablePath,
      // fake microphone (a beep) granted without asking, for the recording test
      args: [
        '--no-sandbox',
        '--enable-unsafe-swiftshader',
        '--use-angle=swiftshader',
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
      ],
    });
    mkdirSync(shots, { recursive: true });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (given === undefined) delete process.env['ZIPPER_WEB_MODEL'];
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (data) rmSync(data, { recursive: true, force: true });
  });

  it('loads the model with a progress bar, transcribes a WAV as the CLI does, speaks text into a playable WAV', async () => {
    const page = await openPage();
    expect(await page.evaluate(() => (document.getElementById('load-progress') as HTMLProgressElement).value)).toBe(1);
    const backend = await page.evaluate(() => document.body.dataset['backend']);
    expect(['webgpu', 'webgl', 'wasm', 'cpu']).toContain(backend);
    expect(await page.textContent('#backend')).toMatch(new RegExp(`^${backend}`));
    expect(Number(await page.evaluate(() => document.body.dataset['loadMs']))).toBeGreaterThan(0);

    // the default is the decoder zipper transcribe's auto picks (the tiny run: the CTC head, no word LM;
    // the shipped package: the lexicon search); it transcribes last, below, for the screenshot
    expect(await page.inputValue('#asr-decoder')).toBe(cli.auto.decoder);

    // the text tower (the paper's decoder), as `--decoder attention` in Node
    await page.selectOption('#asr-decoder', 'attention');
    const byText = await upload(page, wavFile);
    expect(byText.state).toBe('done');
    const score = scoreUtterance(cli.attention.text, byText.text);
    expect(score.chars.n).toBeGreaterThan(0); // a transcript to compare
    expect(rate(score.words)).toBeLessThanOrEqual(0.1);
    expect(rate(score.chars)).toBeLessThanOrEqual(0.1);
    expect(await page.textContent('#asr-timings')).toMatch(/audio to units: \d+ ms.*decode text: [\d.]+ m?s.*text tokens/);

    // the model's CTC head greedily (the tiny run and the shipped package have one), as `--decoder ctc` in Node
    expect(await page.evaluate(() => (document.querySelector('#asr-decoder option[value=ctc]') as HTMLOptionElement).disabled)).toBe(false);
    await page.selectOption('#asr-decoder', 'ctc');
    const byCtc = await upload(page, wavFile);
    expect(byCtc.state).toBe('done');
    expect(byCtc.text.trim()).toBe(cli.ctc.text.trim());
    expect(await page.textContent('#asr-timings')).toMatch(/decode text \(CTC\): [\d.]+ m?s.*CTC labels/);

    // joint CTC/attention beam search, as `--decoder joint` in Node (within the attention path's tolerance)
    await page.selectOption('#asr-decoder', 'joint');
    const byJoint = await upload(page, wavFile);
    expect(byJoint.state).toBe('done');
    const jointScore = scoreUtterance(cli.joint.text, byJoint.text);
    expect(jointScore.chars.n).toBeGreaterThan(0);
    expect(rate(jointScore.words)).toBeLessThanOrEqual(0.1);
    expect(rate(jointScore.chars)).toBeLessThanOrEqual(0.1);
    expect(await page.textContent('#asr-timings')).toMatch(/decode text \(joint CTC\/attention\): [\d.]+ m?s.*text tokens/);

    // back to the default: the same text as zipper transcribe (auto)
    await page.selectOption('#asr-decoder', cli.auto.decoder);
    const asr = await upload(page, wavFile);
    expect(asr.state).toBe('done');
    expect(asr.text.trim()).toBe(cli.auto.text.trim());
    // a package carrying a level range fits the level while it encodes
    expect(await page.textContent('#asr-timings')).toMatch(/audio to units( \(level fitted\))?: \d+ ms.*decode text \(CTC/);

    const tts = await speak(page, 'Paper money, of little value.');
    expect(tts.error).toBe('');
    expect(tts.state).toBe('done');
    await page.waitForFunction(() => (document.getElementById('tts-audio') as HTMLAudioElement).readyState >= 1, null, { timeout: 30_000 });
    const audio = await page.evaluate(() => {
      const a = document.getElementById('tts-audio') as HTMLAudioElement;
      return {
        duration: a.duration,
        units: Number(a.dataset['units']),
        samples: Number(a.dataset['samples']),
        sampleRate: Number(a.dataset['sampleRate']),
      };
    });
    expect(audio.duration).toBeGreaterThan(0.3);
    expect(audio.samples).toBe(audio.units * (audio.sampleRate / 50)); // 20 ms a unit
    expect(Math.abs(audio.duration - audio.samples / audio.sampleRate)).toBeLessThan(0.01);
    expect(await page.textContent('#tts-timings')).toMatch(/decode units: .*vocoder: /);
    expect(await page.isVisible('#stop')).toBe(false); // only while a request runs
    const timings = await page.evaluate(() => ({
      backend: document.body.dataset['backend'],
      loadMs: Number(document.body.dataset['loadMs']),
      asr: document.getElementById('asr-timings')!.innerText.split('\n'),
      tts: document.getElementById('tts-timings')!.innerText.split('\n'),
    }));
    console.log(JSON.stringify({ webTimings: { model, wav: path.basename(wavFile), ...timings } }));
    await page.screenshot({ path: path.join(shots, 'web.png'), fullPage: true });
    await page.close();
  });

  it('answers bad input with a message: non-WAV, oversized, too long, empty, unseen characters, long text', async () => {
    const page = await openPage();
    const mp3 = await upload(page, { name: 'song.wav', mimeType: 'audio/wav', buffer: Buffer.from('ID3\u0004 an MP3 named .wav') });
    expect(mp3.state).toBe('error');
    expect(mp3.error).toMatch(/input looks like MP3, not WAV; convert it/);
    const text = await upload(page, { name: 'notes.wav', mimeType: 'audio/wav', buffer: Buffer.from('these are notes, not audio at all') });
    expect(text.state).toBe('error');
    expect(text.error).toMatch(/RIFF/);
    const huge = await upload(page, { name: 'huge.wav', mimeType: 'audio/wav', buffer: Buffer.alloc(MAX_WAV_BYTES + 1) });
    expect(huge.state).toBe('error');
    expect(huge.error).toMatch(/above the upload limit of 10 MiB/);
    const limits = await page.evaluate(() => ({
      seconds: Number(document.body.dataset['maxAudioSeconds']),
      tokens: Number(document.body.dataset['maxTextTokens']),
    }));
    const over = Math.ceil(limits.seconds + 1);
    const long = writeWav(
      new Float32Array(16000 * over).map((_, i) => 0.1 * Math.sin(i / 10)),
      16000,
    );
    const tooLong = await upload(page, { name: 'long.wav', mimeType: 'audio/wav', buffer: Buffer.from(long) });
    expect(tooLong.state).toBe('error');
    expect(tooLong.error).toContain(`lasts ${over.toFixed(1)} s; this model hears ${limits.seconds.toFixed(1)} s at most`);

    expect((await speak(page, '   ')).error).toMatch(/no text to speak/);
    expect((await speak(page, 'café costs 42 @ noon')).error).toMatch(/never saw U\+00E9, "4", "2", "@" in training/);
    expect((await speak(page, 'word '.repeat(MAX_TEXT_CHARS / 4))).error).toMatch(/above the limit of 1000/);
    // more tokens than the text context (7 words, at least 7 tokens a sentence), when that fits the character limit
    const sentence = 'and god said let there be light ';
    const reps = Math.ceil((limits.tokens + 1) / 7);
    if (reps * sentence.length <= MAX_TEXT_CHARS)
      expect((await speak(page, sentence.repeat(reps))).error).toMatch(
        new RegExp(`tokens long; this model speaks ${limits.tokens} tokens at most`),
      );
    await page.screenshot({ path: path.join(shots, 'web-errors.png'), fullPage: true });
    await page.close();
  });

  it('records from the (fake) microphone and transcribes the recording', async () => {
    const page = await openPage();
    await page.evaluate(() => void (document.body.dataset['asr'] = 'waiting'));
    await page.click('#record');
    await page.waitForFunction(() => document.getElementById('record')!.textContent!.startsWith('Stop'), null, { timeout: 10_000 });
    await page.waitForTimeout(1500);
    await page.click('#record');
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset['asr'] ?? ''), null, { timeout: 150_000 });
    expect(await page.textContent('#asr-error')).toBe('');
    expect(await page.evaluate(() => document.body.dataset['asr'])).toBe('done');
    const seconds = Number(/([\d.]+) s of audio/.exec((await page.textContent('#asr-timings')) ?? '')?.[1]);
    expect(seconds).toBeGreaterThan(1); // about the 1.5 s recorded
    expect(seconds).toBeLessThan(4);
    await page.close();
  });

  it('Stop ends a running decode: the message says so, the model loads again and answers the next request', async () => {
    const page = await openPage();
    await page.selectOption('#asr-decoder', 'attention'); // the decoder that streams tokens
    await page.evaluate(() => void (document.body.dataset['asr'] = 'waiting'));
    // press Stop as soon as the first decoded token is shown (before the worker's result is handled)
    const stopped = page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          const out = document.getElementById('transcript')!;
          new MutationObserver((_, obs) => {
            if (!/Decoding\.\.\. \d+ text tokens/.test(out.textContent ?? '')) return;
            obs.disconnect();
            document.getElementById('stop')!.click();
            resolve(document.body.dataset['asr'] ?? '');
          }).observe(out, { childList: true, characterData: true, subtree: true });
        }),
    );
    await page.setInputFiles('#wav-input', wavFile);
    expect(await stopped).toBe('error');
    expect(await page.textContent('#asr-error')).toMatch(/^Stopped\. The model is loading again/);
    await page.waitForFunction(() => document.body.dataset['model'] === 'ready', null, { timeout: 120_000 });
    expect((await speak(page, 'little value')).state).toBe('done');
    expect((await upload(page, wavFile)).state).toBe('done');
    await page.close();
  });

  it('the shipped model (@zipper/checkpoint-zipper-small): a bundled WAV within WER 0.5 of its text, speech of plausible length', async () => {
    // the model `npm run web` serves with no ZIPPER_WEB_MODEL; its `zipper transcribe` of this WAV
    // reads "a small boat drifted across the quiet lake at done" (0.5.2 and 0.6.0, WER 0.1 against the text)
    const shipped = await serveModel('@zipper/checkpoint-zipper-small');
    const page = await openPage('', shipped.resolvedUrls!.local[0]!);
    try {
      const assets = path.join(repo, 'apps/cli/assets');
      const truth = readFileSync(path.join(assets, 'sample.txt'), 'utf8').trim();
      const asr = await upload(page, path.join(assets, 'sample.wav'));
      expect(asr.error).toBe('');
      const score = scoreUtterance(truth, asr.text);
      console.log(`shipped model in the page: "${asr.text.trim()}" for "${truth}", WER ${rate(score.words).toFixed(3)}`);
      expect(score.words.n).toBe(10);
      expect(rate(score.words)).toBeLessThanOrEqual(0.5);
      // the level fit it carries (0.9.0: up to 15 dB louder, never quieter): the same WAV 6 dB quieter is heard
      // louder, at the gain and with the transcript of zipper transcribe (the shared fitLevel)
      const wav = readWavFile(path.join(assets, 'sample.wav'));
      const quieter = path.join(tmp, 'sample-6db-quieter.wav');
      writeFileSync(quieter, writeWav(scaleAudio(wav.channels[0]!, -6), wav.sampleRate));
      const r = await runZipper(['transcribe', quieter, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const node = (JSON.parse(r.stdout[r.stdout.length - 1]!) as { results: { text: string; levelDb?: number }[] }).results[0]!;
      expect(node.levelDb).toBeGreaterThan(0);
      const heard = await upload(page, quieter);
      expect(heard.error).toBe('');
      expect(heard.text.trim()).toBe(node.text.trim());
      expect(await page.textContent('#asr-timings')).toContain(`heard ${node.levelDb} dB louder (its level fitted)`);
      expect(await page.textContent('#asr-timings')).toMatch(/audio to units \(level fitted\): \d+ ms/);
      // words the LM lacks: flite says three words of the dictionary's kind; the page counts what zipper transcribe counts
      const rare = path.join(tmp, 'rare-words.wav');
      const flite = spawnSync(requireProgram('flite', 'flite'), [
        '-voice',
        'slt',
        '-t',
        'a quokka nibbled the kohlrabi at noon',
        '-o',
        rare,
      ]);
      expect(flite.status, String(flite.stderr)).toBe(0);
      const rr = await runZipper(['transcribe', rare, '--json']);
      expect(rr.code, rr.stderr).toBe(0);
      const counted = (
        JSON.parse(rr.stdout[rr.stdout.length - 1]!) as { results: { text: string; unknownWords: number; dictionaryWords: number }[] }
      ).results[0]!;
      expect(counted.unknownWords + counted.dictionaryWords).toBeGreaterThan(0);
      const spelled = await upload(page, rare);
      expect(spelled.text.trim()).toBe(counted.text.trim());
      const info = (await page.textContent('#asr-timings')) ?? '';
      const shown = (what: RegExp) => Number(what.exec(info)?.[1] ?? 0);
      expect([shown(/(\d+) words? spelled from letters/), shown(/(\d+) words? from the word LM's dictionary/)]).toEqual([
        counted.unknownWords,
        counted.dictionaryWords,
      ]);
      // its speech of the same text: flite says it in 3.0 s (sample.wav); the model's babble is
      // 1.2-5.4 s over seeds 0-2 in Node; the page must end it (not run to the 574-unit context)
      const tts = await speak(page, truth);
      expect(tts.error).toBe('');
      await page.waitForFunction(() => (document.getElementById('tts-audio') as HTMLAudioElement).readyState >= 1, null, {
        timeout: 30_000,
      });
      const audio = await page.evaluate(() => {
        const a = document.getElementById('tts-audio') as HTMLAudioElement;
        return { duration: a.duration, units: Number(a.dataset['units']) };
      });
      console.log(`shipped model in the page: ${audio.duration.toFixed(2)} s of speech (${audio.units} units) for 3.0 s of flite`);
      expect(audio.duration).toBeGreaterThan(1.0); // a third of flite's
      expect(audio.duration).toBeLessThan(9.0); // three times flite's
      expect(audio.units).toBeLessThan(574);
      await page.screenshot({ path: path.join(shots, 'web-shipped.png'), fullPage: true });
    } finally {
      await page.close();
      await shipped.close();
    }
  });

  it('the static build (build:static) carries the model: served by vite preview, the page loads it and answers', async () => {
    const outDir = path.join(tmp, 'static');
    await withModel(model, () =>
      build({ configFile: path.join(web, 'vite.config.ts'), logLevel: 'error', build: { outDir, emptyOutDir: true } }),
    );
    expect(existsSync(path.join(outDir, 'index.html'))).toBe(true);
    expect(readdirSync(path.join(outDir, 'models')).length).toBeGreaterThan(0);
    const server = await preview({
      configFile: path.join(web, 'vite.config.ts'),
      logLevel: 'error',
      build: { outDir },
      preview: { port: 0, host: '127.0.0.1' },
    });
    const page = await openPage('', server.resolvedUrls!.local[0]!);
    try {
      expect((await upload(page, wavFile)).state).toBe('done');
      expect((await speak(page, 'little value')).state).toBe('done');
    } finally {
      await page.close();
      await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
    }
  });

  it('a missing model is a message in the page, naming it and how to serve another', async () => {
    const other = await serveModel(path.join(tmp, 'no-such-run'));
    const page = await browser.newPage();
    try {
      await page.goto(other.resolvedUrls!.local[0]!);
      await page.waitForFunction(() => document.body.dataset['model'] === 'error', null, { timeout: 60_000 });
      const status = (await page.textContent('#load-status')) ?? '';
      expect(status).toContain(`no model to run: ${path.join(tmp, 'no-such-run')} is not a directory`);
      expect(status).toContain('ZIPPER_WEB_MODEL=DIR|PACKAGE npm run web');
      expect(await page.isDisabled('#speak')).toBe(true);
    } finally {
      await page.close();
      await other.close();
    }
  });

  it('a model carrying views or a level range the page cannot take is refused as it loads, with the reason', async () => {
    for (const [search, message] of [
      [{ views: 9 }, 'the number of views must be an integer in [1, 7], got 9'],
      [{ levelRange: 25 }, 'the level range must be an integer number of dB in [0, 20], got 25'],
    ] as const) {
      const copy = path.join(tmp, `carries-${Object.keys(search)[0]}`);
      cpSync(resolveModelLocation(model), copy, { recursive: true });
      const file = path.join(copy, 'model', 'zipper.json');
      const z = JSON.parse(readFileSync(file, 'utf8')) as { options: { ctc: { search?: unknown }[] } };
      z.options.ctc[0]!.search = search;
      writeFileSync(file, JSON.stringify(z));
      const other = await serveModel(copy);
      const page = await browser.newPage();
      try {
        await page.goto(other.resolvedUrls!.local[0]!);
        await page.waitForFunction(() => document.body.dataset['model'] === 'error', null, { timeout: 120_000 });
        expect((await page.textContent('#load-status')) ?? '').toContain(message);
        expect(await page.isDisabled('#speak')).toBe(true);
      } finally {
        await page.close();
        await other.close();
      }
    }
  }, 300_000);

  // WebGL without a GPU runs on SwiftShader, ~100x slower than wasm (30.7 s vs 0.28 s for this
  // decode on an idle machine, over 150 s under load): opt in with ZIPPER_WEB_WEBGL=1.
  it.runIf(process.env['ZIPPER_WEB_WEBGL'] === '1')(
    'WebGL (SwiftShader here) gives the transcript too',
    async () => {
      const page = await openPage('?backend=webgl');
      expect(await page.evaluate(() => document.body.dataset['backend'])).toBe('webgl');
      await page.selectOption('#asr-decoder', 'attention');
      const asr = await upload(page, wavFile, 600_000);
      expect(asr.state).toBe('done');
      const score = scoreUtterance(cli.attention.text, asr.text);
      expect(rate(score.words)).toBeLessThanOrEqual(0.1);
      expect(rate(score.chars)).toBeLessThanOrEqual(0.1);
      await page.close();
    },
    900_000,
  );
});
