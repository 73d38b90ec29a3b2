#include "ibfast/activations.hpp"

#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "parallel.hpp"
#include "simd.hpp"

namespace ibfast {

namespace {

using simd::f16;
using simd::i16;
constexpr int kW = simd::kLanes16;

// ---- float32 vector math, 16 lanes -------------------------------------------------------------
// Accurate to a few ulp (torch's own vectorised functions are to about 1 ulp), branch free, with
// every transcendental reduced to exp of a non-positive argument, so no lane can overflow.

constexpr float kLn2 = 0.693147180559945309f;

inline f16 abs_v(f16 x) { return reinterpret_cast<f16>(reinterpret_cast<i16>(x) & 0x7fffffff); }
inline f16 copysign_v(f16 magnitude, f16 sign) {
  const i16 s = reinterpret_cast<i16>(sign) & static_cast<std::int32_t>(0x80000000u);
  return reinterpret_cast<f16>(reinterpret_cast<i16>(magnitude) | s);
}

// exp(x) for x <= 0; 0 below -87 (near where exp leaves the normal floats, -87.3: the flush
// torch's kernels would do under denormals-are-zero; no activation here needs a value that
// small); NaN stays NaN. Only lanes in [-87, 0] reach the integer conversion of the exponent.
inline f16 exp_neg(f16 x) {
  const i16 in_range = x >= -87.0f;  // false for NaN
  const f16 e = simd::exp_nonpositive_v<f16, i16>(in_range ? x : simd::splat16(-87.0f));
  return x != x ? x : (in_range ? e : simd::splat16(0.0f));
}

// exp(x) - 1 for x <= 0, without the cancellation of exp(x) - 1 near 0: there x times the Taylor
// tail of simd.hpp (|x| < ln2 / 2: the last term, x^8 / 8!, is below 2e-8 relative).
inline f16 expm1_neg(f16 x) {
  const f16 small = simd::exp_taylor_tail(x) * x;
  return x > -0.5f * kLn2 ? small : exp_neg(x) - 1.0f;
}

// log(u) for u in [1, 2]: u = 2^k m with m in [1/sqrt2, sqrt2], log m = 2 atanh(s) with
// s = (m - 1) / (m + 1), |s| <= 0.172, by its series to s^11 (next term < 1e-10 relative).
inline f16 log_1_2(f16 u) {
  const i16 upper = u > 1.41421356f;
  const f16 m = upper ? u * 0.5f : u;
  const f16 s = (m - 1.0f) / (m + 1.0f);
  const f16 s2 = s * s;
  f16 p = simd::splat16(1.0f / 11.0f);
  p = p * s2 + 1.0f / 9.0f;
  p = p * s2 + 1.0f / 7.0f;
  p = p * s2 + 1.0f / 5.0f;
  p = p * s2 + 1.0f / 3.0f;
  p = p * s2 + 1.0f;
  const f16 log_m = 2.0f * s * p;
  return upper ? log_m + kLn2 : log_m;
}

// log(1 + e) for e in [0, 1]: log(u) e / (u - 1) with u = 1 + e rounded, which cancels the
// rounding of u (Goldberg's correction); e itself where u rounds to 1.
inline f16 log1p_01(f16 e) {
  const f16 u = e + 1.0f;
  const f16 d = u - 1.0f;
  const i16 exact = d == 0.0f;
  const f16 safe_d = exact ? simd::splat16(1.0f) : d;
  const f16 corrected = log_1_2(u) * (e / safe_d);
  return exact ? e : corrected;
}

inline f16 sigmoid_v(f16 z) {
  const f16 e = exp_neg(-abs_v(z));
  const f16 p = 1.0f / (1.0f + e);
  return z >= 0.0f ? p : e * p;
}

inline f16 softplus_v(f16 z) {  // max(z, 0) + log(1 + exp(-|z|))
  const f16 pos = z > 0.0f ? z : simd::splat16(0.0f);
  return pos + log1p_01(exp_neg(-abs_v(z)));
}

inline f16 tanh_v(f16 z) {  // tanh|z| = -expm1(-2|z|) / (2 + expm1(-2|z|))
  const f16 t = expm1_neg(-2.0f * abs_v(z));
  return copysign_v(-t / (2.0f + t), z);
}

// ---- the activations and their derivatives ----------------------------------------------------

template <ActivationKind kind>
f16 forward_one(f16 z, f16 a) {
  const f16 zero = simd::splat16(0.0f);
  switch (kind) {  // a constant: one case is compiled per instantiation
    case ActivationKind::linear: return z;
    case ActivationKind::tanh: return tanh_v(z);
    case ActivationKind::relu: return z < 0.0f ? zero : z;  // NaN stays NaN
    case ActivationKind::elu: return z > 0.0f ? z : expm1_neg(z > 0.0f ? zero : z);
    case ActivationKind::softplus: return softplus_v(z);
    case ActivationKind::centred_softplus: return softplus_v(z) - kLn2;
    case ActivationKind::softsign: return z / (1.0f + abs_v(z));
    case ActivationKind::leaky_relu: return z < 0.0f ? z * 0.01f : z;
    case ActivationKind::silu: return z * sigmoid_v(z);
    case ActivationKind::sigmoid: return sigmoid_v(z);
    case ActivationKind::abs: return abs_v(z);
    case ActivationKind::prelu: return z < 0.0f ? a * z : z;
  }
  return z;
}

// d act / dz at z, given h = act(z). At the kinks the convention of torch's kernels: relu and
// abs 0 at 0, elu and prelu 1 (z >= 0 side), leaky_relu 0.01. Computed beside forward_one, the
// exp they share (softplus, silu, elu, sigmoid) is computed once.
template <ActivationKind kind>
f16 derivative_one(f16 z, f16 h, f16 a) {
  const f16 one = simd::splat16(1.0f);
  const f16 zero = simd::splat16(0.0f);
  switch (kind) {  // a constant: one case is compiled per instantiation
    case ActivationKind::linear: return one;
    case ActivationKind::tanh: return 1.0f - h * h;
    case ActivationKind::relu: return h <= 0.0f ? zero : one;  // NaN: 1, as torch
    case ActivationKind::elu: return z <= 0.0f ? exp_neg(z > 0.0f ? zero : z) : one;
    case ActivationKind::softplus:
    case ActivationKind::centred_softplus: return sigmoid_v(z);
    case ActivationKind::softsign: {
      const f16 d = 1.0f + abs_v(z);
      return 1.0f / (d * d);
    }
    case ActivationKind::leaky_relu: return z > 0.0f ? one : simd::splat16(0.01f);
    case ActivationKind::silu: {  // s (1 + z (1 - s)), 1 - s from the exp, not by cancellation
      const f16 e = exp_neg(-abs_v(z));
      const f16 p = 1.0f / (1.0f + e);
      const i16 positive = z >= 0.0f;
      const f16 s = positive ? p : e * p;
      const f16 one_minus_s = positive ? e * p : p;
      return s * (1.0f + z * one_minus_s);
    }
    case ActivationKind::sigmoid: return h * (1.0f - h);
    case ActivationKind::abs: return z > 0.0f ? one : (z < 0.0f ? -one : zero);
    case ActivationKind::prelu: return z >= 0.0f ? one : a;  // NaN: a, as torch
  }
  return one;
}

// A row's n values in blocks of 16; the tail goes through a zero-padded block, so every value
// takes the same vector code.
template <class Op>
void for_blocks(std::int64_t n, Op op) {
  std::int64_t i = 0;
  for (; i + kW <= n; i += kW) op(i, kW);
  if (i < n) op(i, static_cast<int>(n - i));
}

inline f16 load_part(const float* p, int count) {
  if (count == kW) return simd::load16(p);
  float buf[kW] = {};
  std::memcpy(buf, p, sizeof(float) * static_cast<std::size_t>(count));
  return simd::load16(buf);
}
inline void store_part(float* p, f16 v, int count) {
  std::memcpy(p, &v, sizeof(float) * static_cast<std::size_t>(count));
}

// Calls fn(std::integral_constant<ActivationKind, kind>{}), so each row's loop is compiled
// for its activation alone (no switch per block of 16 values).
template <class Fn>
void with_kind(ActivationKind kind, Fn fn) {
  using K = ActivationKind;
  switch (kind) {
    case K::linear: return fn(std::integral_constant<K, K::linear>{});
    case K::tanh: return fn(std::integral_constant<K, K::tanh>{});
    case K::relu: return fn(std::integral_constant<K, K::relu>{});
    case K::elu: return fn(std::integral_constant<K, K::elu>{});
    case K::softplus: return fn(std::integral_constant<K, K::softplus>{});
    case K::centred_softplus: return fn(std::integral_constant<K, K::centred_softplus>{});
    case K::softsign: return fn(std::integral_constant<K, K::softsign>{});
    case K::leaky_relu: return fn(std::integral_constant<K, K::leaky_relu>{});
    case K::silu: return fn(std::integral_constant<K, K::silu>{});
    case K::sigmoid: return fn(std::integral_constant<K, K::sigmoid>{});
    case K::abs: return fn(std::integral_constant<K, K::abs>{});
    case K::prelu: return fn(std::integral_constant<K, K::prelu>{});
  }
}

void check_kinds(const std::int32_t* kinds, std::int64_t seeds, const float* params) {
  for (std::int64_t s = 0; s < seeds; ++s) {
    if (kinds[s] < 0 || kinds[s] >= kActivationKinds) {
      throw std::invalid_argument("ibfast activations: unknown activation kind " + std::to_string(kinds[s]) +
                                  " for seed " + std::to_string(s));
    }
    if (kinds[s] == static_cast<std::int32_t>(ActivationKind::prelu) && params == nullptr) {
      throw std::invalid_argument("ibfast activations: prelu needs its parameters (their gradients, backward)");
    }
  }
}

// Rows (seed, unit) in parallel once a layer is big enough to pay for waking the threads (a
// packed grid's layers, 80 x 10 x 256, are not: there the team's wake-up cost as much as the
// pass, measured).
template <class RowFn>
void for_rows(LayerShape shape, RowFn row_fn) {
  const std::int64_t rows = shape.seeds * shape.width;
  const bool parallel = rows * shape.n >= detail::kParallelMinWork;
#pragma omp parallel for num_threads(detail::thread_count()) schedule(static) if (parallel)
  for (std::int64_t r = 0; r < rows; ++r) row_fn(r / shape.width, r);
}

}  // namespace

void activations_forward(const float* z, float* h, float* derivative, LayerShape shape,
                         const std::int32_t* kinds, const float* params, std::int64_t param_stride) {
  check_kinds(kinds, shape.seeds, params);
  const std::int64_t n = shape.n;
  for_rows(shape, [&](std::int64_t s, std::int64_t r) {
    const auto kind = static_cast<ActivationKind>(kinds[s]);
    const f16 a = simd::splat16(kind == ActivationKind::prelu ? params[r * param_stride] : 0.0f);
    const float* zr = z + r * n;
    float* hr = h + r * n;
    float* dr = derivative == nullptr ? nullptr : derivative + r * n;
    with_kind(kind, [&](auto k) {
      constexpr ActivationKind K = decltype(k)::value;
      for_blocks(n, [&](std::int64_t i, int count) {
        const f16 v = load_part(zr + i, count);
        const f16 out = forward_one<K>(v, a);
        store_part(hr + i, v != v ? v : out, count);  // NaN in, NaN out, whatever the kind
        if (dr != nullptr) store_part(dr + i, derivative_one<K>(v, out, a), count);
      });
    });
  });
}

void activations_backward(const float* z, const float* derivative, const float* grad_h, float* grad_z,
                          LayerShape shape, const std::int32_t* kinds, float* grad_params,
                          std::int64_t param_stride) {
  check_kinds(kinds, shape.seeds, grad_params);
  const std::int64_t n = shape.n;
  for_rows(shape, [&](std::int64_t s, std::int64_t r) {
    const float* dr = derivative + r * n;
    const float* gr = grad_h + r * n;
    const float* zr = z + r * n;
    float* out = grad_z + r * n;
    if (kinds[s] != static_cast<std::int32_t>(ActivationKind::prelu)) {
      for_blocks(n, [&](std::int64_t i, int count) {
        store_part(out + i, load_part(gr + i, count) * load_part(dr + i, count), count);
      });
      return;
    }
    // The slope's terms are read before the store, so grad_z may alias z or grad_h. Padded lanes
    // hold z = 0: they add nothing. NaN z (not >= 0) makes the sum NaN, as torch's.
    double slope_grad = 0.0;
    for_blocks(n, [&](std::int64_t i, int count) {
      const f16 zv = load_part(zr + i, count);
      const f16 g = load_part(gr + i, count);
      const f16 contrib = zv >= 0.0f ? simd::splat16(0.0f) : g * zv;
      for (int l = 0; l < kW; ++l) slope_grad += static_cast<double>(contrib[l]);
      store_part(out + i, g * load_part(dr + i, count), count);
    });
    grad_params[r * param_stride] = static_cast<float>(slope_grad);
  });
}

}  // namespace ibfast
