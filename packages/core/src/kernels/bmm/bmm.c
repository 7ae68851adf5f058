/*
 * Batched single-precision matrix multiply for the TF.js wasm backend's slow cases
 * (rank >= 3, or transpose flags), compiled to a standalone wasm module with SIMD:
 *   clang-14 --target=wasm32 -O3 -msimd128 -nostdlib (see build.mjs).
 *
 * bmm(a, b, c, batch, m, k, n, ta, tb, sa, sb, pack):
 *   for i in [0, batch): C_i [m, n] = op(A_i) @ op(B_i), op(X) = X^T when the flag is set.
 *   A_i starts at a + i*sa (A_i is [m, k], or [k, m] when ta); B_i at b + i*sb ([k, n], or
 *   [n, k] when tb); sa or sb = 0 broadcasts one matrix over the batch. C is dense [batch, m, n].
 *   `pack` is scratch of m*k + k*n floats: operands are repacked to row-major [m, k] and [k, n]
 *   so the micro-kernel always streams contiguous rows of B.
 * With a transposed B and fewer than 4 rows, B is not packed: C = dot products of rows.
 * Micro-kernel: a 4x8 tile of C in eight 4-lane accumulators; per step of k it loads 8 floats
 * of B and broadcasts 4 floats of A.
 */
#include <wasm_simd128.h>

typedef unsigned long size_t;

static void pack_t(const float *src, float *dst, int rows, int cols) {
  /* src is [cols, rows] row-major; dst = src^T, [rows, cols]; 8x8 tiles keep both sides in cache. */
  for (int c0 = 0; c0 < cols; c0 += 8) {
    const int c1 = c0 + 8 < cols ? c0 + 8 : cols;
    for (int r0 = 0; r0 < rows; r0 += 8) {
      const int r1 = r0 + 8 < rows ? r0 + 8 : rows;
      for (int c = c0; c < c1; c++)
        for (int r = r0; r < r1; r++) dst[r * cols + c] = src[c * rows + r];
    }
  }
}

static void gemm(const float *A, const float *B, float *C, int M, int K, int N) {
  const int n8 = N & ~7;
  const int m4 = M & ~3;
  int i = 0;
  for (; i < m4; i += 4) {
    const float *a0 = A + i * K, *a1 = a0 + K, *a2 = a1 + K, *a3 = a2 + K;
    float *c0 = C + i * N, *c1 = c0 + N, *c2 = c1 + N, *c3 = c2 + N;
    int j = 0;
    for (; j < n8; j += 8) {
      v128_t s00 = wasm_f32x4_splat(0), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
      const float *bp = B + j;
      for (int p = 0; p < K; p++, bp += N) {
        const v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);
        const v128_t x0 = wasm_f32x4_splat(a0[p]), x1 = wasm_f32x4_splat(a1[p]);
        const v128_t x2 = wasm_f32x4_splat(a2[p]), x3 = wasm_f32x4_splat(a3[p]);
        s00 = wasm_f32x4_add(s00, wasm_f32x4_mul(x0, b0)); s01 = wasm_f32x4_add(s01, wasm_f32x4_mul(x0, b1));
        s10 = wasm_f32x4_add(s10, wasm_f32x4_mul(x1, b0)); s11 = wasm_f32x4_add(s11, wasm_f32x4_mul(x1, b1));
        s20 = wasm_f32x4_add(s20, wasm_f32x4_mul(x2, b0)); s21 = wasm_f32x4_add(s21, wasm_f32x4_mul(x2, b1));
        s30 = wasm_f32x4_add(s30, wasm_f32x4_mul(x3, b0)); s31 = wasm_f32x4_add(s31, wasm_f32x4_mul(x3, b1));
      }
      wasm_v128_store(c0 + j, s00); wasm_v128_store(c0 + j + 4, s01);
      wasm_v128_store(c1 + j, s10); wasm_v128_store(c1 + j + 4, s11);
      wasm_v128_store(c2 + j, s20); wasm_v128_store(c2 + j + 4, s21);
      wasm_v128_store(c3 + j, s30); wasm_v128_store(c3 + j + 4, s31);
    }
    for (; j < N; j++) {
      float t0 = 0, t1 = 0, t2 = 0, t3 = 0;
      for (int p = 0; p < K; p++) {
        const float bv = B[p * N + j];
        t0 += a0[p] * bv; t1 += a1[p] * bv; t2 += a2[p] * bv; t3 += a3[p] * bv;
      }
      c0[j] = t0; c1[j] = t1; c2[j] = t2; c3[j] = t3;
    }
  }
  for (; i < M; i++) {
    const float *a0 = A + i * K;
    float *c0 = C + i * N;
    int j = 0;
    for (; j < n8; j += 8) {
      v128_t s0 = wasm_f32x4_splat(0), s1 = s0;
      const float *bp = B + j;
      for (int p = 0; p < K; p++, bp += N) {
        const v128_t x0 = wasm_f32x4_splat(a0[p]);
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(x0, wasm_v128_load(bp)));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(x0, wasm_v128_load(bp + 4)));
      }
      wasm_v128_store(c0 + j, s0); wasm_v128_store(c0 + j + 4, s1);
    }
    for (; j < N; j++) {
      float t0 = 0;
      for (int p = 0; p < K; p++) t0 += a0[p] * B[p * N + j];
      c0[j] = t0;
    }
  }
}

/* C [m, n] = A [m, k] @ B^T for B stored [n, k]: dot products of contiguous rows, no packing.
 * Used for few rows (decode: logits = h @ table^T), where packing B would cost more than the
 * product itself. */
static void gemm_bt_rows(const float *A, const float *B, float *C, int M, int K, int N) {
  const int k4 = K & ~3;
  for (int i = 0; i < M; i++) {
    const float *a = A + i * K;
    for (int j = 0; j < N; j++) {
      const float *b = B + j * K;
      v128_t s = wasm_f32x4_splat(0);
      int p = 0;
      for (; p < k4; p += 4) s = wasm_f32x4_add(s, wasm_f32x4_mul(wasm_v128_load(a + p), wasm_v128_load(b + p)));
      float t = wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1) + wasm_f32x4_extract_lane(s, 2) + wasm_f32x4_extract_lane(s, 3);
      for (; p < K; p++) t += a[p] * b[p];
      C[i * N + j] = t;
    }
  }
}

/* Rows of C below which a transposed B is not packed (see gemm_bt_rows). */
#define FEW_ROWS 4

__attribute__((export_name("bmm")))
void bmm(const float *a, const float *b, float *c, int batch, int m, int k, int n, int ta, int tb, int sa, int sb, float *pack) {
  float *pa = pack, *pb = pack + m * k;
  for (int i = 0; i < batch; i++) {
    const float *A = a + (size_t)i * sa, *B = b + (size_t)i * sb;
    /* Repack only what changes: a broadcast operand (stride 0) is packed once. */
    if (ta && (i == 0 || sa != 0)) pack_t(A, pa, m, k);
    if (tb && m < FEW_ROWS) {
      gemm_bt_rows(ta ? pa : A, B, c + (size_t)i * m * n, m, k, n);
      continue;
    }
    if (tb && (i == 0 || sb != 0)) pack_t(B, pb, k, n);
    gemm(ta ? pa : A, tb ? pb : B, c + (size_t)i * m * n, m, k, n);
  }
}
