/**
 * Speech recognition with a zipped model: audio -> units (the speech tower's tokenizer) ->
 * `[speech]` -> greedy text. Audio longer than one decode is cut at pauses (audio-input.ts);
 * pieces of equal length decode together (generateZipped batches rows whose streams are equal),
 * so several files are ordered by length and decoded `batch` rows per call.
 */
import { UsageError } from '../command.js';
import type { AppModel } from './model.js';
import { splitUnits, type AudioInput } from './audio-input.js';

export interface Transcript {
  readonly file: string;
  readonly text: string;
  /** Seconds of audio. */
  readonly seconds: number;
  readonly units: number;
  /** Pieces decoded (1 unless the audio is longer than the model's speech context). */
  readonly pieces: number;
  /** 'stop' when every piece ended with the text tower's eos, else 'length'. */
  readonly finishReason: string;
}

export interface TranscribeOptions {
  /** Rows decoded together (default 8). */
  readonly batch?: number;
  /**
   * `attention` (default): the text tower decodes through cross-attention; `ctc`: greedy decoding
   * of the model's CTC head; `joint`: joint CTC/attention beam search (beam 4, CTC weight 0.3).
   */
  readonly decoder?: 'attention' | 'ctc' | 'joint';
  /** Called after each decode call with pieces done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export async function transcribeAudio(app: AppModel, inputs: readonly AudioInput[], o: TranscribeOptions = {}): Promise<Transcript[]> {
  const { m } = app;
  if ((o.decoder === 'ctc' || o.decoder === 'joint') && !m.ctcTranscribe)
    throw new UsageError(`${app.location} has no CTC head (zipper fuse train --ctc-weight X trains one); use --decoder attention`);
  const batch = o.batch ?? 8;
  const spu = m.speech.samplesPerUnit;
  const units = inputs.map((a) => m.speech.encode(a.samples));
  const pieces = inputs.flatMap((a, i) => splitUnits(units[i]!, a.samples, spu, app.maxUnits).map((u, k) => ({ file: i, k, u })));
  const order = pieces.map((_, j) => j).sort((a, b) => pieces[a]!.u.length - pieces[b]!.u.length || a - b);
  const texts: string[] = new Array<string>(pieces.length);
  const reasons: string[] = new Array<string>(pieces.length);
  for (let at = 0; at < order.length; at += batch) {
    const rows = order.slice(at, at + batch);
    if (o.decoder === 'ctc' || o.decoder === 'joint') {
      const got = m.ctcTranscribe!(
        rows.map((j) => pieces[j]!.u),
        o.decoder === 'joint' ? { beam: 4, ctcWeight: 0.3, maxNewTokens: app.maxTextTokens } : undefined,
      );
      rows.forEach((j, r) => {
        texts[j] = got[r]!;
        reasons[j] = 'stop';
      });
      o.onProgress?.(Math.min(at + batch, order.length), order.length);
      continue;
    }
    const got = await m.generate(
      rows.map((j) => [m.segment('speech', pieces[j]!.u)]),
      'text',
      { temperature: 0, maxNewTokens: app.maxTextTokens },
    );
    rows.forEach((j, r) => {
      const g = got[r]!;
      texts[j] = g.output === 'text' ? g.text.trim() : '';
      reasons[j] = g.finishReason;
    });
    o.onProgress?.(Math.min(at + batch, order.length), order.length);
  }
  return inputs.map((a, i) => {
    const mine = pieces.map((p, j) => ({ p, j })).filter(({ p }) => p.file === i);
    return {
      file: a.file,
      text: mine
        .map(({ j }) => texts[j]!)
        .filter(Boolean)
        .join(' '),
      seconds: a.seconds,
      units: units[i]!.length,
      pieces: mine.length,
      finishReason: mine.every(({ j }) => reasons[j] === 'stop') ? 'stop' : 'length',
    };
  });
}
