// Types for fft.js 4 (radix-4 FFT, CommonJS, ships no declarations).
declare module 'fft.js' {
  type NumArray = number[] | Float64Array | Float32Array;
  class FFT {
    constructor(size: number);
    readonly size: number;
    createComplexArray(): number[];
    /** Real input; fills out[0 .. size + 1] (bins 0 .. size / 2 as interleaved re, im). */
    realTransform(out: NumArray, data: NumArray): void;
    completeSpectrum(spectrum: NumArray): void;
    transform(out: NumArray, data: NumArray): void;
    /** Complex inverse, divided by size. */
    inverseTransform(out: NumArray, data: NumArray): void;
  }
  export = FFT;
}
