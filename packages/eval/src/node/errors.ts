// Through the package's own name, so the built node entry shares the main entry's EvalError
// (ESM and CJS alike) instead of bundling a second copy of the class.
import { EvalError } from '@zipper/eval';

/** The speech recognizer (pocketsphinx) or its English model is not installed. */
export class RecognizerMissingError extends EvalError {}

/** The recognizer ran but failed, or its input audio is not in the format it reads. */
export class RecognizerError extends EvalError {}
