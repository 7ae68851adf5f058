/**
 * Errors of the training loop.
 */
import { ZipperError } from '../errors.js';

/**
 * A training step could not be completed: the loss or the gradient norm is NaN/Inf, or a
 * gradient strategy failed. `step` is the 1-based number of the optimizer step that failed
 * (`trainer.step + 1`: the step that would have completed);
 * when this is thrown, parameters, optimizer state and the data position are those from before
 * that step, so lowering the learning rate (or fixing the data) and retrying is safe.
 */
export class TrainingError extends ZipperError {
  constructor(
    message: string,
    readonly step: number,
  ) {
    super(message);
  }
}
