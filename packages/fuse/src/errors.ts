/**
 * Typed errors of @zipper/fuse (all subclasses of core's `ZipperError`). Token ids outside a
 * tower's vocabulary raise core's `TokenRangeError`; bad configs core's `ConfigError`.
 */
import { CheckpointError, ShapeError, ZipperError } from '@zipper/core';

/** A segment or an output schedule names a tower (modality) the model does not have. */
export class UnknownTowerError extends ZipperError {}

/** An example or segment is malformed: empty, or not opened by its tower's bos. */
export class SegmentError extends ShapeError {}

/** A fused checkpoint was built on a different tower checkpoint than the one given. */
export class TowerMismatchError extends CheckpointError {}
