/*
 * Blocked, packed SGEMM (GotoBLAS/BLIS loop order) for the wasm backend's BatchMatMul, so that
 * training's matrix products run with the CPU's full SIMD width instead of wasm's 128-bit SIMD.
 *
 * Loops: columns in NC blocks -> k in KC blocks (pack op(B) into NR-column panels) -> rows in MC
 * blocks (pack op(A) into MR-row panels) -> register-tile micro-kernel (kernel.inc). Transpose
 * flags and batch strides are handled by the packing (general row/column strides), so no
 * operand is ever transposed in memory. Products with at most SMALL_M rows (decoding) skip the
 * packing and stream B once (kernel.inc small_nn / small_nt).
 *
 * The micro-kernel is chosen once by CPU features (__builtin_cpu_supports): AVX-512F 8x32,
 * AVX2+FMA 6x16, or a portable SSE2 4x8. Products with enough work are split over a small pthread
 * pool (zg_set_threads; default 1) by batch, rows or columns; a product issued while the pool is
 * busy (another JS thread) runs on its caller's thread alone.
 */
#include "gemm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_M 4
#define KC 256
#define MC 144 /* a multiple of every MR below */
#define NC 2048 /* a multiple of every NR below */
#define MAX_MR 8
#define MAX_NR 32
/*
 * Products below this many multiply-adds, and few-row (decode) products, run on the caller's
 * thread alone: waking a pool thread costs more than they take (with 2 threads and a 2^18
 * threshold, `zipper bench generate` went from 1.69 to 5.36 ms/token).
 */
#define MIN_PARALLEL_MACS (1L << 22)

#define ZG_SUFFIX avx512
#define ZG_TARGET __attribute__((target("avx512f,avx2,fma")))
#define ZG_MR 8
#define ZG_VL 16
#define ZG_NV 2
#include "kernel.inc"

#define ZG_SUFFIX avx2
#define ZG_TARGET __attribute__((target("avx2,fma")))
#define ZG_MR 6
#define ZG_VL 8
#define ZG_NV 2
#include "kernel.inc"

#define ZG_SUFFIX generic
#define ZG_TARGET
#define ZG_MR 4
#define ZG_VL 4
#define ZG_NV 2
#include "kernel.inc"

typedef struct {
  const char *name;
  int mr, nr;
  void (*uk)(long, const float *, const float *, float *, long, int);
  void (*nn)(long, long, long, const float *, long, long, const float *, long, float *);
  void (*nt)(long, long, long, const float *, long, const float *, long, float *);
} isa_t;

static const isa_t ISA_AVX512 = {"avx512f", 8, 32, ukernel_avx512, small_nn_avx512, small_nt_avx512};
static const isa_t ISA_AVX2 = {"avx2+fma", 6, 16, ukernel_avx2, small_nn_avx2, small_nt_avx2};
static const isa_t ISA_GENERIC = {"generic", 4, 8, ukernel_generic, small_nn_generic, small_nt_generic};

static const isa_t *isa_best(void) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &ISA_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &ISA_AVX2;
  return &ISA_GENERIC;
}

static const isa_t *isa;

const char *zg_isa(void) {
  if (!isa) isa = isa_best();
  return isa->name;
}

int zg_isa_vector(void) {
  if (!isa) isa = isa_best();
  return isa != &ISA_GENERIC;
}

int zg_set_isa(const char *name) {
  const isa_t *best = isa_best();
  const isa_t *want = !strcmp(name, "avx512f") ? &ISA_AVX512 : !strcmp(name, "avx2+fma") ? &ISA_AVX2 : !strcmp(name, "generic") ? &ISA_GENERIC : NULL;
  if (!want) return 0;
  if (want == &ISA_AVX512 && best != &ISA_AVX512) return 0;
  if (want == &ISA_AVX2 && best == &ISA_GENERIC) return 0;
  isa = want;
  return 1;
}

/* ---- packing ---------------------------------------------------------------------------- */

/* Ap[panel][p][r] = A(i0 + r, p): MR-row panels, zero-padded past mc. */
static void pack_a(long mc, long kc, const float *a, long rsa, long csa, int mr, float *ap) {
  for (long i = 0; i < mc; i += mr, ap += (long)mr * kc) {
    const long rows = mc - i < mr ? mc - i : mr;
    if (csa == 1) {
      for (long r = 0; r < rows; r++) {
        const float *src = a + (i + r) * rsa;
        for (long p = 0; p < kc; p++) ap[p * mr + r] = src[p];
      }
    } else {
      for (long p = 0; p < kc; p++) {
        const float *src = a + i * rsa + p * csa;
        for (long r = 0; r < rows; r++) ap[p * mr + r] = src[r * rsa];
      }
    }
    if (rows < mr)
      for (long p = 0; p < kc; p++)
        for (long r = rows; r < mr; r++) ap[p * mr + r] = 0.f;
  }
}

/* Bp[panel][p][c] = B(p, j0 + c): NR-column panels, zero-padded past nc. */
static void pack_b(long kc, long nc, const float *b, long rsb, long csb, int nr, float *bp) {
  for (long j = 0; j < nc; j += nr, bp += (long)nr * kc) {
    const long cols = nc - j < nr ? nc - j : nr;
    if (csb == 1) {
      for (long p = 0; p < kc; p++) {
        memcpy(bp + p * nr, b + p * rsb + j, cols * sizeof(float));
        for (long q = cols; q < nr; q++) bp[p * nr + q] = 0.f;
      }
    } else {
      for (long q = 0; q < cols; q++) {
        const float *src = b + (j + q) * csb;
        for (long p = 0; p < kc; p++) bp[p * nr + q] = src[p * rsb];
      }
      if (cols < nr)
        for (long p = 0; p < kc; p++)
          for (long q = cols; q < nr; q++) bp[p * nr + q] = 0.f;
    }
  }
}

/* ---- one 2-D product -------------------------------------------------------------------- */

typedef struct {
  float *ap, *bp;
} bufs_t;

/* Per-thread packing buffers (MC x KC and KC x NC floats), allocated on first use. */
static __thread bufs_t tls;

static int ensure_bufs(void) {
  if (tls.ap) return 1;
  tls.ap = aligned_alloc(64, (size_t)MC * KC * sizeof(float));
  tls.bp = aligned_alloc(64, (size_t)KC * NC * sizeof(float));
  if (!tls.ap || !tls.bp) {
    free(tls.ap);
    free(tls.bp);
    tls.ap = tls.bp = NULL;
    return 0;
  }
  return 1;
}

/* C(m x n, row stride ldc) = A(m x k; strides rsa, csa) @ B(k x n; strides rsb, csb). */
static void gemm2d(const isa_t *I, long m, long n, long k, const float *a, long rsa, long csa, const float *b, long rsb, long csb, float *c, long ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (long i = 0; i < m; i++) memset(c + i * ldc, 0, n * sizeof(float));
    return;
  }
  if (m <= SMALL_M && ldc == n) {
    if (csb == 1) {
      I->nn(m, n, k, a, rsa, csa, b, rsb, c);
      return;
    }
    if (rsb == 1 && csa == 1) {
      I->nt(m, n, k, a, rsa, b, csb, c);
      return;
    }
  }
  if (!ensure_bufs()) { /* out of memory: plain loops rather than nothing */
    for (long i = 0; i < m; i++)
      for (long j = 0; j < n; j++) {
        float s = 0.f;
        for (long p = 0; p < k; p++) s += a[i * rsa + p * csa] * b[p * rsb + j * csb];
        c[i * ldc + j] = s;
      }
    return;
  }
  const int mr = I->mr, nr = I->nr;
  float tmp[MAX_MR * MAX_NR] __attribute__((aligned(64)));
  for (long jc = 0; jc < n; jc += NC) {
    const long nc = n - jc < NC ? n - jc : NC;
    for (long pc = 0; pc < k; pc += KC) {
      const long kc = k - pc < KC ? k - pc : KC;
      const int acc = pc > 0;
      pack_b(kc, nc, b + pc * rsb + jc * csb, rsb, csb, nr, tls.bp);
      for (long ic = 0; ic < m; ic += MC) {
        const long mc = m - ic < MC ? m - ic : MC;
        pack_a(mc, kc, a + ic * rsa + pc * csa, rsa, csa, mr, tls.ap);
        for (long jr = 0; jr < nc; jr += nr) {
          const long cols = nc - jr < nr ? nc - jr : nr;
          const float *bp = tls.bp + jr * kc;
          for (long ir = 0; ir < mc; ir += mr) {
            const long rows = mc - ir < mr ? mc - ir : mr;
            float *cc = c + (ic + ir) * ldc + jc + jr;
            const float *ap = tls.ap + ir * kc;
            if (rows == mr && cols == nr) {
              I->uk(kc, ap, bp, cc, ldc, acc);
            } else {
              I->uk(kc, ap, bp, tmp, nr, 0);
              for (long r = 0; r < rows; r++)
                for (long q = 0; q < cols; q++) cc[r * ldc + q] = acc ? cc[r * ldc + q] + tmp[r * nr + q] : tmp[r * nr + q];
            }
          }
        }
      }
    }
  }
}

/* ---- batched product, split into parts ---------------------------------------------------- */

typedef struct {
  const isa_t *I;
  const float *a, *b;
  float *c;
  long batch, m, n, k, sa, sb;
  int ta, tb;
} job_t;

/* Part `part` of `parts`: a range of matrices if there are enough, else a range of rows or columns of each. */
static void run_part(const job_t *j, int part, int parts) {
  const long rsa = j->ta ? 1 : j->k, csa = j->ta ? j->m : 1;
  const long rsb = j->tb ? 1 : j->n, csb = j->tb ? j->k : 1;
  long b0 = 0, b1 = j->batch, i0 = 0, i1 = j->m, c0 = 0, c1 = j->n;
  if (parts > 1) {
    if (j->batch >= parts) {
      b0 = j->batch * part / parts;
      b1 = j->batch * (part + 1) / parts;
    } else if (j->m > SMALL_M && j->m >= j->n) {
      const long units = (j->m + j->I->mr - 1) / j->I->mr;
      i0 = units * part / parts * j->I->mr;
      i1 = units * (part + 1) / parts * j->I->mr;
      if (i1 > j->m) i1 = j->m;
    } else {
      const long units = (j->n + j->I->nr - 1) / j->I->nr;
      c0 = units * part / parts * j->I->nr;
      c1 = units * (part + 1) / parts * j->I->nr;
      if (c1 > j->n) c1 = j->n;
    }
  }
  for (long bi = b0; bi < b1; bi++) {
    const float *a = j->a + bi * j->sa + i0 * rsa;
    const float *b = j->b + bi * j->sb + c0 * csb;
    float *c = j->c + bi * j->m * j->n + i0 * j->n + c0;
    if (i1 > i0 && c1 > c0) gemm2d(j->I, i1 - i0, c1 - c0, j->k, a, rsa, csa, b, rsb, csb, c, j->n);
  }
}

/* ---- thread pool ---------------------------------------------------------------------------- */

static pthread_mutex_t pool_busy = PTHREAD_MUTEX_INITIALIZER; /* held by the caller using the pool */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t pool_done = PTHREAD_COND_INITIALIZER;
static int pool_threads = 1;   /* parts per product, caller included */
static int pool_started = 0;   /* workers running */
static long pool_gen = 0;      /* bumped for each product */
static int pool_parts = 0;     /* parts of the current product */
static int pool_pending = 0;   /* worker parts not finished */
static const job_t *pool_job;
static long worker_gen0[ZG_MAX_THREADS]; /* pool_gen when each worker was created */

static void *worker(void *arg) {
  const int id = (int)(long)arg; /* 1..ZG_MAX_THREADS-1 */
  pthread_mutex_lock(&pool_lock);
  long seen = worker_gen0[id];
  for (;;) {
    while (pool_gen == seen) pthread_cond_wait(&pool_wake, &pool_lock);
    seen = pool_gen;
    if (id >= pool_parts) continue;
    const job_t *job = pool_job;
    const int parts = pool_parts;
    pthread_mutex_unlock(&pool_lock);
    run_part(job, id, parts);
    pthread_mutex_lock(&pool_lock);
    if (--pool_pending == 0) pthread_cond_signal(&pool_done);
  }
  return NULL;
}

int zg_set_threads(int n) {
  if (n < 1) n = 1;
  if (n > ZG_MAX_THREADS) n = ZG_MAX_THREADS;
  pthread_mutex_lock(&pool_busy);
  while (pool_started < n - 1) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    worker_gen0[pool_started + 1] = pool_gen; /* no product runs while pool_busy is held */
    const int ok = pthread_create(&t, &attr, worker, (void *)(long)(pool_started + 1)) == 0;
    pthread_attr_destroy(&attr);
    if (!ok) break;
    pool_started++;
  }
  pool_threads = pool_started + 1 < n ? pool_started + 1 : n;
  pthread_mutex_unlock(&pool_busy);
  return pool_threads;
}

int zg_get_threads(void) { return pool_threads; }

void zg_gemm(const float *a, const float *b, float *c, long batch, long m, long n, long k, int ta, int tb, long sa, long sb) {
  if (!isa) isa = isa_best();
  const job_t job = {isa, a, b, c, batch, m, n, k, sa, sb, ta, tb};
  int parts = pool_threads;
  if (parts > 1 && (m <= SMALL_M || batch * m * n * k < MIN_PARALLEL_MACS)) parts = 1;
  if (parts > 1 && pthread_mutex_trylock(&pool_busy) != 0) parts = 1;
  if (parts == 1) {
    run_part(&job, 0, 1);
    return;
  }
  pthread_mutex_lock(&pool_lock);
  pool_job = &job;
  pool_parts = parts;
  pool_pending = parts - 1;
  pool_gen++;
  pthread_cond_broadcast(&pool_wake);
  pthread_mutex_unlock(&pool_lock);
  run_part(&job, 0, parts);
  pthread_mutex_lock(&pool_lock);
  while (pool_pending > 0) pthread_cond_wait(&pool_done, &pool_lock);
  pthread_mutex_unlock(&pool_lock);
  pthread_mutex_unlock(&pool_busy);
}
