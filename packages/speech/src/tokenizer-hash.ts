/** The speech tokenizer's sha256, synchronously (Node's crypto; the browser-safe one is `speechTokenizerSha256`). */
import { sha256Hex } from '@zipper/common/node';
import { serializeSpeechTokenizer, type SpeechTokenizer } from '@zipper/tokenizers';

/** sha256 over speech-tokenizer.json followed by centroids.safetensors: equals `await speechTokenizerSha256(tok)`. */
export function speechTokenizerHash(tok: SpeechTokenizer): string {
  const { json, centroids } = serializeSpeechTokenizer(tok);
  return sha256Hex([json, centroids]);
}
