/*
 * The sum of squares of n float32 values, accumulated in double precision: the global gradient
 * norm of @zipper/core's clipping on the wasm backend (src/kernels/sum-squares.ts), one pass over
 * memory instead of TF.js's Square, Sum and Add kernels per gradient, and no float32 rounding of
 * the partial sums.
 *
 * Eight double accumulators: element i goes to lane i % 8, and the lanes are added in order at the
 * end. The AVX2 loop and the scalar one add the same values in the same order, and the square of a
 * float32 value is exact in double (48 significant bits), so a fused multiply-add rounds as the
 * separate product and sum do: both paths give the same bits.
 */
#pragma GCC optimize("fp-contract=off")
#include <immintrin.h>

#include "gemm.h"

static void sumsq_scalar(long i, long n, const float *x, double acc[8]) {
  for (; i < n; i++) {
    const double d = x[i];
    acc[i & 7] += d * d;
  }
}

__attribute__((target("avx2,fma"))) static long sumsq_avx2(long n, const float *x, double acc[8]) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  long i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256d a = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    const __m256d b = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    lo = _mm256_fmadd_pd(a, a, lo);
    hi = _mm256_fmadd_pd(b, b, hi);
  }
  _mm256_storeu_pd(acc, lo);
  _mm256_storeu_pd(acc + 4, hi);
  return i;
}

double zg_sumsq(long n, const float *x) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  /* AVX2 when the GEMM's chosen ISA has it (setIsa("generic") selects the scalar loop here too) */
  const long i = zg_isa_vector() ? sumsq_avx2(n, x, acc) : 0;
  sumsq_scalar(i, n, x, acc);
  double s = 0;
  for (int j = 0; j < 8; j++) s += acc[j];
  return s;
}
