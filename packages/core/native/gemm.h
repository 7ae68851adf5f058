/*
 * Single-precision GEMM for the wasm backend's BatchMatMul, run natively (see gemm.c).
 *
 *   C[b] = op(A[b]) @ op(B[b])   for b in [0, batch)
 *
 * op(A) is m x k (A stored row-major m x k, or k x m when ta), op(B) is k x n (B stored k x n,
 * or n x k when tb), C is m x n row-major and dense. sa / sb are the batch strides of A and B in
 * floats (0 broadcasts one matrix over the batch); C's batch stride is m * n.
 */
#ifndef ZIPPER_GEMM_H
#define ZIPPER_GEMM_H

#include <stddef.h>

void zg_gemm(const float *a, const float *b, float *c, long batch, long m, long n, long k, int ta, int tb, long sa, long sb);

/* "avx512f", "avx2+fma" or "generic": the micro-kernel chosen at load time by CPU features. */
const char *zg_isa(void);

/* Threads used to split one product (1..ZG_MAX_THREADS; 1 = the calling thread only). */
#define ZG_MAX_THREADS 8
int zg_set_threads(int n);
int zg_get_threads(void);

/* Forces a micro-kernel ("avx512f", "avx2+fma", "generic"); returns 0 if the CPU lacks it. */
int zg_set_isa(const char *isa);

/* 1 when the chosen micro-kernel (zg_isa, zg_set_isa) has AVX2, so the other kernels may use it too. */
int zg_isa_vector(void);

/* One AdamW update of n elements (adamw.c): p1, m1, v1 from p, g, m, v with these float32 scalars. */
typedef struct {
  float b1c, b2, b2c, sqrt_bc2, eps, neg_step, keep, gscale;
  int decay; /* 0: p is not multiplied by keep */
  int scale; /* 0: g is used as it is (gscale 1), else g * gscale first (the clipping's coefficient) */
} zg_adamw_t;
void zg_adamw(long n, const float *p, const float *g, const float *m, const float *v, float *p1, float *m1, float *v1, const zg_adamw_t *s);

/* The sum of x[i]^2 over n float32 values, in double precision, deterministic (sumsq.c). */
double zg_sumsq(long n, const float *x);

#endif
