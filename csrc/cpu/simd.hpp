// Eight- and sixteen-lane float vectors through GCC/Clang vector extensions: AVX2 (AVX-512 for
// sixteen lanes) code with -march on such a machine, narrower halves elsewhere, with no
// intrinsics to maintain per instruction set, except for any(): the compilers have no generic
// "any lane set" and spell it out as a chain of 64-bit extractions and ORs, which cost more
// than the KDE's whole skipped vector.
#pragma once
#include <cstdint>
#include <cstring>
#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace ibfast::simd {

constexpr int kLanes = 8;
using f8 = float __attribute__((vector_size(32)));
using i8 = std::int32_t __attribute__((vector_size(32)));
#if defined(__AVX512F__)
// Sixteen lanes (f16/i16 below) fill one AVX-512 register: the KDE packs two rows' eight lanes
// into one there (kde.cpp: the lane order is per row of 8). Elsewhere passing them by value
// changes the ABI, so the KDE keeps to eight lanes.
#define IBFAST_SIMD_HAVE_F16 1
#endif

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

// Whether any lane of a comparison result (lanes 0 or -1) is set.
inline bool any(i8 mask) {
#if defined(__AVX__)
  const __m256i m = reinterpret_cast<__m256i>(mask);
  return _mm256_testz_si256(m, m) == 0;  // vptest
#else
  std::uint64_t parts[4];
  std::memcpy(parts, &mask, sizeof parts);
  return (parts[0] | parts[1] | parts[2] | parts[3]) != 0;
#endif
}
#ifdef IBFAST_SIMD_HAVE_F16
inline bool any(i16 mask) {
  const __m512i m = reinterpret_cast<__m512i>(mask);
  return _mm512_test_epi32_mask(m, m) != 0;  // vptestmd + kortest
}
#endif

inline double sum(f8 v) {
  double s = 0.0;
  for (int l = 0; l < kLanes; ++l) s += static_cast<double>(v[l]);
  return s;
}

// Keeps the lanes of v where mask is set, zero elsewhere.
inline f8 select(i8 mask, f8 v) { return reinterpret_cast<f8>(mask & reinterpret_cast<i8>(v)); }
#ifdef IBFAST_SIMD_HAVE_F16
inline f16 select(i16 mask, f16 v) { return reinterpret_cast<f16>(mask & reinterpret_cast<i16>(v)); }
#endif

// exp(x) for x in [-kSkipExponent, 0] (ibfast/kde.hpp: 60; the KDE masks out the lanes below it)
// to ~2 ulp: x = n ln2 + r with |r| <= ln2 / 2, exp(r) by its degree-7 Taylor polynomial
// (truncation < 1e-8 relative), 2^n put straight into the exponent bits. That range keeps 2^n a
// normal number (n >= -87), so no denormal is ever produced. Below about x = -87, 2^n leaves the
// normal range and then its exponent bits wrap: such lanes hold garbage, which the KDE's mask
// discards.
// F/I: f8/i8 or f16/i16. Lane for lane the same operations whatever the width, so the same bits.
// (exp(r) - 1) / r for |r| <= ln2 / 2: the Taylor polynomial 1 + r/2 + ... + r^6/7!, by Horner.
template <class F>
inline F exp_taylor_tail(F r) {
  F p = F{} + 1.0f / 5040.0f;  // a splat (constant-folded)
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  return p;
}

// exp(r) for |r| <= ln2 / 2: its Taylor polynomial to degree 7, by Horner (the tail's steps,
// then one more: the same operations as ever, so the same bits).
template <class F>
inline F exp_reduced(F r) {
  return exp_taylor_tail(r) * r + 1.0f;
}

template <class F, class I>
inline F exp_nonpositive_v(F x) {
  const F t = x * 1.44269504088896341f;
  const I n = __builtin_convertvector(t - 0.5f, I);  // round half away for t <= 0
  const F nf = __builtin_convertvector(n, F);
  F r = x - nf * 0.693359375f;     // ln2 split into an exact high part ...
  r = r - nf * -2.12194440e-4f;    // ... and the rest
  const F p = exp_reduced(r);
  const I scale = (n + 127) << 23;
  return p * reinterpret_cast<F>(scale);
}
inline f8 exp_nonpositive(f8 x) { return exp_nonpositive_v<f8, i8>(x); }
#ifdef IBFAST_SIMD_HAVE_F16
inline f16 exp_nonpositive(f16 x) { return exp_nonpositive_v<f16, i16>(x); }

// exp_nonpositive with AVX-512's vrndscaleps (truncation, as the int conversion and back) and
// vscalefps (p * 2^n, exact like the multiplication by the power of two built from the exponent
// bits while the result is normal): the same bits on [-kSkipExponent, 0] in four fewer
// instructions. Outside it (lanes the KDE discards) the values differ.
inline f16 exp_nonpositive_scalef(f16 x) {
  const f16 t = x * 1.44269504088896341f;
  const __m512 h = reinterpret_cast<__m512>(t - 0.5f);
  // The maskz forms with every lane set: the plain ones start from _mm512_undefined_ps(), which
  // GCC 12 reports as maybe-uninitialized.
  const f16 nf = reinterpret_cast<f16>(_mm512_maskz_roundscale_ps(0xFFFF, h, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC));
  f16 r = x - nf * 0.693359375f;
  r = r - nf * -2.12194440e-4f;
  const f16 p = exp_reduced(r);
  const __m512 scaled = _mm512_maskz_scalef_ps(0xFFFF, reinterpret_cast<__m512>(p), reinterpret_cast<__m512>(nf));
  return reinterpret_cast<f16>(scaled);
}
#endif

}  // namespace ibfast::simd
