#include "ibfast/scan.hpp"

#include <algorithm>
#include <cstring>

#include "parallel.hpp"
#include "simd.hpp"

namespace ibfast {

namespace {

// Values per parallel chunk: whole 16-lane blocks, big enough to amortise the scheduling.
constexpr std::int64_t kChunk = 1 << 16;

}  // namespace

std::int64_t count_nonfinite(const float* x, std::int64_t count) {
  const std::int64_t n_chunks = (count + kChunk - 1) / kChunk;
  std::int64_t bad = 0;
#pragma omp parallel for num_threads(detail::thread_count()) schedule(dynamic, 4) reduction(+ : bad) if (count >= detail::kParallelMinWork)
  for (std::int64_t c = 0; c < n_chunks; ++c) {
    const std::int64_t begin = c * kChunk;
    const std::int64_t end = std::min(count, begin + kChunk);
    // An all-ones exponent is NaN or inf: an integer test, vectorised, immune to fast-math.
    std::int64_t local = 0;
    for (std::int64_t i = begin; i < end; ++i) {
      std::uint32_t b;
      std::memcpy(&b, x + i, sizeof b);
      local += ((b & 0x7f800000u) == 0x7f800000u) ? 1 : 0;
    }
    bad += local;
  }
  return bad;
}

MinMax min_max(const float* x, std::int64_t count) {
  MinMax result;
  if (count <= 0) return result;
  const std::int64_t n_chunks = (count + kChunk - 1) / kChunk;
  float lo = x[0];
  float hi = x[0];
#pragma omp parallel for num_threads(detail::thread_count()) schedule(dynamic, 4) reduction(min : lo) reduction(max : hi) if (count >= detail::kParallelMinWork)
  for (std::int64_t c = 0; c < n_chunks; ++c) {
    const std::int64_t begin = c * kChunk;
    const std::int64_t end = std::min(count, begin + kChunk);
    // The machine's own vectors (wider compares would be expanded lane by lane).
    using V = simd::fn;
    constexpr int kW = simd::kNativeLanes;
    std::int64_t i = begin;
    V vlo;
    for (int k = 0; k < kW; ++k) vlo[k] = x[begin];
    V vhi = vlo;
    for (; i + kW <= end; i += kW) {
      V v;
      std::memcpy(&v, x + i, sizeof v);
      vlo = v < vlo ? v : vlo;
      vhi = v > vhi ? v : vhi;
    }
    float l = vlo[0];
    float h = vhi[0];
    for (int k = 1; k < kW; ++k) {
      l = std::min(l, vlo[k]);
      h = std::max(h, vhi[k]);
    }
    for (; i < end; ++i) {
      l = std::min(l, x[i]);
      h = std::max(h, x[i]);
    }
    lo = std::min(lo, l);
    hi = std::max(hi, h);
  }
  result.lo = lo;
  result.hi = hi;
  return result;
}

}  // namespace ibfast
