// Eight- and sixteen-lane float vectors through GCC/Clang vector extensions: AVX2 (AVX-512 for
// sixteen lanes) code with -march on such a machine, narrower halves elsewhere, with no
// intrinsics to maintain per instruction set.
#pragma once
#include <cstdint>
#include <cstring>

namespace ibfast::simd {

constexpr int kLanes = 8;
using f8 = float __attribute__((vector_size(32)));
using i8 = std::int32_t __attribute__((vector_size(32)));

inline f8 splat(float v) { return f8{v, v, v, v, v, v, v, v}; }
inline i8 splat_i(std::int32_t v) { return i8{v, v, v, v, v, v, v, v}; }

inline f8 load(const float* p) {
  f8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline i8 load_i(const std::int32_t* p) {
  i8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The machine's own float / int32 vectors: 64 bytes with AVX-512, 32 with AVX, else 16 (SSE2,
// NEON). Compares and selects of vectors wider than the machine's are expanded lane by lane, so
// code that must run well everywhere compares these.
#if defined(__AVX512F__)
#define IBFAST_NATIVE_VECTOR_BYTES 64
#elif defined(__AVX__)
#define IBFAST_NATIVE_VECTOR_BYTES 32
#else
#define IBFAST_NATIVE_VECTOR_BYTES 16
#endif
using fn = float __attribute__((vector_size(IBFAST_NATIVE_VECTOR_BYTES)));
using in = std::int32_t __attribute__((vector_size(IBFAST_NATIVE_VECTOR_BYTES)));
constexpr int kNativeLanes = IBFAST_NATIVE_VECTOR_BYTES / 4;

// Sixteen lanes (the fused binning's block, binned_entropy.cpp): one AVX-512 register. Elsewhere
// only for storage and plain arithmetic, which is split into the machine's vectors.
constexpr int kLanes16 = 16;
using f16 = float __attribute__((vector_size(64)));
using i16 = std::int32_t __attribute__((vector_size(64)));
using u8x16 = std::uint8_t __attribute__((vector_size(16)));

inline f16 load16(const float* p) {
  f16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline f16 splat16(float v) { return f16{} + v; }
inline i16 splat16_i(std::int32_t v) { return i16{} + v; }

inline bool any(i8 mask) {
  std::uint64_t parts[4];
  std::memcpy(parts, &mask, sizeof parts);
  return (parts[0] | parts[1] | parts[2] | parts[3]) != 0;
}

inline double sum(f8 v) {
  double s = 0.0;
  for (int l = 0; l < kLanes; ++l) s += static_cast<double>(v[l]);
  return s;
}

// Keeps the lanes of v where mask is set, zero elsewhere.
inline f8 select(i8 mask, f8 v) { return reinterpret_cast<f8>(mask & reinterpret_cast<i8>(v)); }

// exp(x) for x in [-kSkipExponent, 0] (ibfast/kde.hpp: 60; the KDE masks out the lanes below it)
// to ~2 ulp: x = n ln2 + r with |r| <= ln2 / 2, exp(r) by its degree-7 Taylor polynomial
// (truncation < 1e-8 relative), 2^n put straight into the exponent bits. That range keeps 2^n a
// normal number (n >= -87), so no denormal is ever produced. Below about x = -87, 2^n leaves the
// normal range and then its exponent bits wrap: such lanes hold garbage, which the KDE's mask
// discards.
inline f8 exp_nonpositive(f8 x) {
  const f8 t = x * splat(1.44269504088896341f);
  const i8 n = __builtin_convertvector(t - splat(0.5f), i8);  // round half away for t <= 0
  const f8 nf = __builtin_convertvector(n, f8);
  f8 r = x - nf * splat(0.693359375f);     // ln2 split into an exact high part ...
  r = r - nf * splat(-2.12194440e-4f);     // ... and the rest
  f8 p = splat(1.0f / 5040.0f);
  p = p * r + splat(1.0f / 720.0f);
  p = p * r + splat(1.0f / 120.0f);
  p = p * r + splat(1.0f / 24.0f);
  p = p * r + splat(1.0f / 6.0f);
  p = p * r + splat(0.5f);
  p = p * r + splat(1.0f);
  p = p * r + splat(1.0f);
  const i8 scale = (n + splat_i(127)) << 23;
  return p * reinterpret_cast<f8>(scale);
}

}  // namespace ibfast::simd
