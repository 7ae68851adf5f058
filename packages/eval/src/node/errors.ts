// Relative import: tsup splits the shared code into one chunk (splitting: true in both formats),
// so the node entry and the main entry share one EvalError class under ESM and CJS alike.
import { EvalError } from '../errors.js';

/** The speech recognizer (pocketsphinx) or its English model is not installed. */
export class RecognizerMissingError extends EvalError {}

/** The recognizer ran but failed, or its input audio is not in the format it reads. */
export class RecognizerError extends EvalError {}
