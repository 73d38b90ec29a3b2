#include "ibfast/binning.hpp"

#include "ibfast/bits.hpp"

#include <cmath>
#include <cstring>
#include <vector>

#include "parallel.hpp"
#include "simd.hpp"

namespace ibfast {

namespace {

// Number of edges <= v, by a branch-free binary search: bins are few (~30), so the search is a
// handful of predictable steps, and the loop vectorises across values better than a branchy one.
inline std::int64_t count_at_or_below(const double* edges, std::int64_t n_edges, double v) {
  const double* base = edges;
  std::int64_t len = n_edges;
  while (len > 1) {
    const std::int64_t half = len / 2;
    base = (base[half] <= v) ? base + half : base;
    len -= half;
  }
  return (base - edges) + (*base <= v ? 1 : 0);
}

// Few edges (the usual 30): count the edges <= each value by comparing 8 values against every
// edge. Fixed work, no data-dependent branches or loads: several times faster than a search.
constexpr std::int64_t kLinearEdges = 64;

void bin_by_counting(const float* x, std::int64_t count, const double* edges, std::int64_t n_edges,
                     std::int32_t* codes) {
  std::vector<float> thresholds(static_cast<std::size_t>(n_edges));
  for (std::int64_t k = 0; k < n_edges; ++k) {
    thresholds[static_cast<std::size_t>(k)] = bits::float_at_or_above(edges[k]);
  }
  const float* t = thresholds.data();
  // Four vectors at once: the count of each is a dependency chain across edges, so independent
  // chains keep the vector units busy.
  constexpr std::int64_t kBlock = 4 * simd::kLanes;
  const std::int64_t full = count / kBlock * kBlock;
#pragma omp parallel for num_threads(detail::thread_count()) schedule(static) if (count >= detail::kParallelMinWork)
  for (std::int64_t i = 0; i < full; i += kBlock) {
    simd::f8 v[4];
    simd::i8 code[4];
    for (int b = 0; b < 4; ++b) {
      v[b] = simd::load(x + i + b * simd::kLanes);
      code[b] = simd::splat_i(-1);  // code = (number of edges <= v) - 1
    }
    for (std::int64_t k = 0; k < n_edges; ++k) {
      const simd::f8 edge = simd::splat(t[k]);
      for (int b = 0; b < 4; ++b) code[b] -= (v[b] >= edge);  // a true lane is -1
    }
    std::memcpy(codes + i, code, sizeof code);
  }
  for (std::int64_t i = full; i < count; ++i) {
    std::int32_t c = -1;
    for (std::int64_t k = 0; k < n_edges; ++k) c += (x[i] >= t[k]) ? 1 : 0;
    codes[i] = c;
  }
}

}  // namespace

void bin_by_edges(const float* x, std::int64_t count, const double* edges, std::int64_t n_edges,
                  std::int32_t* codes) {
  if (n_edges <= kLinearEdges) {
    bin_by_counting(x, count, edges, n_edges, codes);
    return;
  }
#pragma omp parallel for num_threads(detail::thread_count()) schedule(static) if (count >= detail::kParallelMinWork)
  for (std::int64_t i = 0; i < count; ++i) {
    codes[i] = static_cast<std::int32_t>(count_at_or_below(edges, n_edges, x[i]) - 1);
  }
}

void bin_by_width(const float* x, std::int64_t count, double width, std::int32_t* codes) {
#pragma omp parallel for num_threads(detail::thread_count()) schedule(static) if (count >= detail::kParallelMinWork)
  for (std::int64_t i = 0; i < count; ++i) {
    codes[i] = static_cast<std::int32_t>(std::floor(static_cast<double>(x[i]) / width));
  }
}

}  // namespace ibfast
