/*
 * One AdamW update of one parameter, element-wise, for @zipper/core's AdamW on the wasm backend
 * (src/kernels/adamw.ts): every element of p, g, m, v is read once and p1, m1, v1 written once,
 * instead of about twelve full passes of TF.js element-wise kernels.
 *
 *   g  = g * gscale                          (only when scaling: the gradient clipping's coefficient)
 *   m1 = m + (g - m) * b1c
 *   v1 = v * b2 + g * g * b2c
 *   p1 = p * keep + m1 / (sqrt(v1) / sqrt_bc2 + eps) * neg_step      (decay = 0: p, not p * keep)
 *
 * Each operation is one IEEE float32 operation in this order, none fused (fp-contract off, no
 * FMA), so the results equal the TF.js ops' bit for bit. AVX2 when the GEMM's chosen ISA has it
 * (zg_isa_vector: setIsa("generic") makes this scalar too), else scalar; both give the same bits (float32 +, -, *, / and sqrt are correctly rounded either way).
 */
#pragma GCC optimize("fp-contract=off")
#include <immintrin.h>

#include "gemm.h"

static void adamw_scalar(long i, long n, const float *p, const float *g, const float *m, const float *v, float *p1, float *m1, float *v1,
                         const zg_adamw_t *s) {
  for (; i < n; i++) {
    const float gi = s->scale ? g[i] * s->gscale : g[i], mi = m[i];
    const float d = gi - mi;
    const float e = d * s->b1c;
    const float mn = mi + e;
    const float vb = v[i] * s->b2;
    const float gg = gi * gi;
    const float gb = gg * s->b2c;
    const float vn = vb + gb;
    const float r = __builtin_sqrtf(vn);
    const float q = r / s->sqrt_bc2;
    const float den = q + s->eps;
    const float u = mn / den;
    const float st = u * s->neg_step;
    const float pk = s->decay ? p[i] * s->keep : p[i];
    p1[i] = pk + st;
    m1[i] = mn;
    v1[i] = vn;
  }
}

__attribute__((target("avx2"))) static long adamw_avx2(long n, const float *p, const float *g, const float *m, const float *v, float *p1, float *m1,
                                                      float *v1, const zg_adamw_t *s) {
  const __m256 b1c = _mm256_set1_ps(s->b1c), b2 = _mm256_set1_ps(s->b2), b2c = _mm256_set1_ps(s->b2c);
  const __m256 sq = _mm256_set1_ps(s->sqrt_bc2), eps = _mm256_set1_ps(s->eps), ns = _mm256_set1_ps(s->neg_step);
  const __m256 keep = _mm256_set1_ps(s->keep), gs = _mm256_set1_ps(s->gscale);
  long i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g0 = _mm256_loadu_ps(g + i), mi = _mm256_loadu_ps(m + i);
    const __m256 gi = s->scale ? _mm256_mul_ps(g0, gs) : g0;
    const __m256 mn = _mm256_add_ps(mi, _mm256_mul_ps(_mm256_sub_ps(gi, mi), b1c));
    const __m256 vn = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), b2), _mm256_mul_ps(_mm256_mul_ps(gi, gi), b2c));
    const __m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vn), sq), eps);
    const __m256 st = _mm256_mul_ps(_mm256_div_ps(mn, den), ns);
    __m256 pk = _mm256_loadu_ps(p + i);
    if (s->decay) pk = _mm256_mul_ps(pk, keep);
    _mm256_storeu_ps(p1 + i, _mm256_add_ps(pk, st));
    _mm256_storeu_ps(m1 + i, mn);
    _mm256_storeu_ps(v1 + i, vn);
  }
  return i;
}

void zg_adamw(long n, const float *p, const float *g, const float *m, const float *v, float *p1, float *m1, float *v1, const zg_adamw_t *s) {
  /* AVX2 when the GEMM's chosen ISA has it (setIsa("generic") selects the scalar loop here too) */
  const long i = zg_isa_vector() ? adamw_avx2(n, p, g, m, v, p1, m1, v1, s) : 0;
  adamw_scalar(i, n, p, g, m, v, p1, m1, v1, s);
}
