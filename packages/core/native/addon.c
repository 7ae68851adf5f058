/*
 * Node-API binding of gemm.c, loaded by src/kernels/native.ts. Operands are Float32Arrays that
 * may be views of the wasm backend's heap (ArrayBuffer or SharedArrayBuffer): the product reads
 * and writes them in place, no copies. Every length is checked against the shapes before any
 * pointer is touched; a bad call throws a RangeError/TypeError instead of reading out of bounds.
 *
 *   gemm(a, b, c, batch, m, n, k, transposeA, transposeB, strideA, strideB): undefined
 *   adamw(p, g, m, v, p1, m1, v1, scalars): undefined   (adamw.c; scalars: Float32Array of 8
 *       [b1c, b2, b2c, sqrtBc2, eps, negStep, keep, gscale], keep NaN for no decay, gscale 1 for
 *       no gradient scaling; all arrays of one length)
 *   sumSquares(x): number    (sumsq.c: the sum of x[i]^2 in double precision)
 *   isa(): string            setIsa(name): boolean   (the kernels of gemm, adamw and sumSquares)
 *   threads(): number        setThreads(n): number (threads actually available)
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>

#include "gemm.h"

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "zipper_gemm: Node-API call failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static bool f32_arg(napi_env env, napi_value v, float **data, size_t *len, const char *name) {
  bool is = false;
  napi_typedarray_type type;
  void *ptr = NULL;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is || napi_get_typedarray_info(env, v, &type, len, &ptr, NULL, NULL) != napi_ok || type != napi_float32_array) {
    napi_throw_type_error(env, NULL, name);
    return false;
  }
  *data = ptr;
  return true;
}

static bool i64_arg(napi_env env, napi_value v, int64_t *out, int64_t lo, const char *name) {
  if (napi_get_value_int64(env, v, out) != napi_ok || *out < lo) {
    napi_throw_range_error(env, NULL, name);
    return false;
  }
  return true;
}

/* The call's n arguments into argv; false (with a TypeError `usage` thrown) unless exactly n were given. */
static bool args_n(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *usage) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "zipper_gemm: Node-API call failed");
    return false;
  }
  if (argc != n) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  return true;
}

static napi_value gemm(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  if (!args_n(env, info, 11, argv, "zipper_gemm.gemm: expected 11 arguments (a, b, c, batch, m, n, k, ta, tb, sa, sb)")) return NULL;
  float *a, *b, *c;
  size_t la, lb, lc;
  int64_t batch, m, n, k, ta, tb, sa, sb;
  if (!f32_arg(env, argv[0], &a, &la, "zipper_gemm.gemm: a must be a Float32Array") ||
      !f32_arg(env, argv[1], &b, &lb, "zipper_gemm.gemm: b must be a Float32Array") ||
      !f32_arg(env, argv[2], &c, &lc, "zipper_gemm.gemm: c must be a Float32Array") ||
      !i64_arg(env, argv[3], &batch, 0, "zipper_gemm.gemm: batch must be >= 0") ||
      !i64_arg(env, argv[4], &m, 0, "zipper_gemm.gemm: m must be >= 0") ||
      !i64_arg(env, argv[5], &n, 0, "zipper_gemm.gemm: n must be >= 0") ||
      !i64_arg(env, argv[6], &k, 0, "zipper_gemm.gemm: k must be >= 0") ||
      !i64_arg(env, argv[7], &ta, 0, "zipper_gemm.gemm: ta must be 0 or 1") ||
      !i64_arg(env, argv[8], &tb, 0, "zipper_gemm.gemm: tb must be 0 or 1") ||
      !i64_arg(env, argv[9], &sa, 0, "zipper_gemm.gemm: sa must be >= 0") ||
      !i64_arg(env, argv[10], &sb, 0, "zipper_gemm.gemm: sb must be >= 0"))
    return NULL;
  const int64_t lim = (int64_t)1 << 40;
  if (batch > lim || m > lim || n > lim || k > lim || sa > lim || sb > lim || ta > 1 || tb > 1) {
    napi_throw_range_error(env, NULL, "zipper_gemm.gemm: argument out of range");
    return NULL;
  }
  if (batch == 0 || m == 0 || n == 0) return NULL;
  /* 128-bit so that no product of (up to 2^40) arguments can wrap around. */
  typedef __int128 wide;
  if ((wide)lc < (wide)batch * m * n || (wide)la < (wide)(batch - 1) * sa + (wide)m * k || (wide)lb < (wide)(batch - 1) * sb + (wide)k * n) {
    napi_throw_range_error(env, NULL, "zipper_gemm.gemm: an operand is shorter than its shape and batch stride say");
    return NULL;
  }
  zg_gemm(a, b, c, batch, m, n, k, (int)ta, (int)tb, sa, sb);
  return NULL;
}

static napi_value adamw(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!args_n(env, info, 8, argv, "zipper_gemm.adamw: expected 8 arguments (p, g, m, v, p1, m1, v1, scalars)")) return NULL;
  static const char *const names[8] = {"zipper_gemm.adamw: p must be a Float32Array",  "zipper_gemm.adamw: g must be a Float32Array",
                                       "zipper_gemm.adamw: m must be a Float32Array",  "zipper_gemm.adamw: v must be a Float32Array",
                                       "zipper_gemm.adamw: p1 must be a Float32Array", "zipper_gemm.adamw: m1 must be a Float32Array",
                                       "zipper_gemm.adamw: v1 must be a Float32Array", "zipper_gemm.adamw: scalars must be a Float32Array"};
  float *x[8];
  size_t len[8];
  for (int i = 0; i < 8; i++)
    if (!f32_arg(env, argv[i], &x[i], &len[i], names[i])) return NULL;
  for (int i = 1; i < 7; i++)
    if (len[i] != len[0]) {
      napi_throw_range_error(env, NULL, "zipper_gemm.adamw: p, g, m, v, p1, m1, v1 must have one length");
      return NULL;
    }
  if (len[7] != 8) {
    napi_throw_range_error(env, NULL, "zipper_gemm.adamw: scalars must hold 8 floats");
    return NULL;
  }
  const float *sc = x[7];
  const zg_adamw_t s = {sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6], sc[7], !__builtin_isnan(sc[6]), sc[7] != 1.0f};
  zg_adamw((long)len[0], x[0], x[1], x[2], x[3], x[4], x[5], x[6], &s);
  return NULL;
}

static napi_value sum_squares(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  if (!args_n(env, info, 1, argv, "zipper_gemm.sumSquares: expected 1 argument (x)")) return NULL;
  float *x;
  size_t len;
  if (!f32_arg(env, argv[0], &x, &len, "zipper_gemm.sumSquares: x must be a Float32Array")) return NULL;
  CHECK(napi_create_double(env, zg_sumsq((long)len, x), &out));
  return out;
}

static napi_value isa(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_create_string_utf8(env, zg_isa(), NAPI_AUTO_LENGTH, &out));
  return out;
}

static napi_value set_isa(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  char name[32];
  size_t len = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "zipper_gemm.setIsa: expected a string");
    return NULL;
  }
  CHECK(napi_get_boolean(env, zg_set_isa(name) != 0, &out));
  return out;
}

static napi_value threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_create_int32(env, zg_get_threads(), &out));
  return out;
}

static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t n = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1 || n > ZG_MAX_THREADS) {
    napi_throw_range_error(env, NULL, "zipper_gemm.setThreads: expected an integer from 1 to 8");
    return NULL;
  }
  CHECK(napi_create_int32(env, zg_set_threads(n), &out));
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"gemm", NULL, gemm, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"adamw", NULL, adamw, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"sumSquares", NULL, sum_squares, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"isa", NULL, isa, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"setIsa", NULL, set_isa, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"threads", NULL, threads, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default_jsproperty, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
