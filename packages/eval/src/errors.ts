import { ZipperError } from '@zipper/common';

/** Scoring input is unusable (reference and hypothesis counts differ, an id is missing, ...). */
export class EvalError extends ZipperError {}
