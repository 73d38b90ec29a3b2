// Bit-level helpers shared by the CPU and CUDA kernels, so both compute the very same keys.
#pragma once
#include <cstdint>

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

}  // namespace ibfast::bits
