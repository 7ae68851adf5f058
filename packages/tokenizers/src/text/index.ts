export { BYTE_TO_CHAR, bytesToByteLevel, firstInvalidUtf8, tokenBytes, utf8Decode, utf8DecodeStrict, utf8Encode } from './byte-level.js';
export { GPT2_PATTERN, preTokenize, preTokenizeWithRegex } from './pretokenize.js';
export { scanPreTokens } from './scan.js';
export { BpeModel, MAX_VOCAB, type BpeModelSpec } from './bpe-model.js';
export { AddedTokenSplitter, type AddedToken, type Piece } from './added-tokens.js';
export { BpeTokenizer, type BpeTokenizerParts, type DecodeOptions, type SpecialTokenRoles } from './tokenizer.js';
export { encodeBatch, resolveBatchEncodeOptions, type BatchEncodeOptions, type BatchEncoding } from './batch.js';
export { fromHfJson, parseHfJson, stringifyHfJson, toHfJson } from './hf-json.js';
export { DEFAULT_SPECIAL_TOKENS, reservedToken, resolveBpeTrainConfig, type BpeTrainConfig } from './train-config.js';
export { trainBpe } from './train.js';
export {
  HF_FILE,
  MANIFEST_FILE,
  TEXT_TOKENIZER_FORMAT,
  TEXT_TOKENIZER_FORMAT_VERSION,
  readTextTokenizer,
  textTokenizerFiles,
  type TextTokenizerManifest,
  type TextTokenizerRef,
} from './tokenizer-dir.js';
