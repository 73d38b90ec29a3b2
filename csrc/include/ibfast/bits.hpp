// Bit-level helpers shared by the CPU and CUDA kernels, so both compute the very same keys and
// bin codes.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#if defined(__CUDACC__)
#define IBFAST_HOST_DEVICE __host__ __device__
#else
#define IBFAST_HOST_DEVICE
#endif

namespace ibfast::bits {

// The splitmix64 finaliser: full avalanche, so hashes of similar rows spread over a table.
IBFAST_HOST_DEVICE inline std::uint64_t mix64(std::uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

// Order-preserving map of a float's bits to an unsigned key: flip all bits of negatives, set the
// sign bit of non-negatives. -0.0 is first made +0.0 by an integer test (immune to flush-to-zero,
// which would merge denormals with zero), so both zeros are one value, as in numpy's unique.
IBFAST_HOST_DEVICE inline std::uint32_t float_key(std::uint32_t float_bits) {
  if (float_bits == 0x80000000u) float_bits = 0u;
  return (float_bits & 0x80000000u) ? ~float_bits : (float_bits | 0x80000000u);
}

// The float bits of a key made by float_key.
IBFAST_HOST_DEVICE inline std::uint32_t key_float_bits(std::uint32_t key) {
  return (key & 0x80000000u) ? (key & 0x7fffffffu) : ~key;
}

// The smallest float >= e. Host only: the CUDA code converts its edges on the host.
// Binning compares float values v with double edges e. With t = float_at_or_above(e),
// (double)v >= e holds exactly when v >= t, so the comparisons can run in float (8 SIMD lanes on
// the CPU, no double arithmetic on the GPU) and still give every value the same code.
// Why it is exact: t is a float >= e, so v >= t implies v >= e; and every float v >= e is >= t,
// the least such float. Converting e to float gives e itself when e is a float, else one of the
// two floats around it (in any rounding mode); when that one is below e, the next float up is
// the least float >= e. The same holds at the ends: e above FLT_MAX gives +inf, e below -FLT_MAX
// gives -FLT_MAX, and a NaN edge stays NaN, which no value reaches in either comparison.
inline float float_at_or_above(double e) {
  float f = static_cast<float>(e);
  if (static_cast<double>(f) < e) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return f;
}

}  // namespace ibfast::bits
