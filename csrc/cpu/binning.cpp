#include "ibfast/binning.hpp"

#include <cmath>

#include "parallel.hpp"

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

}  // namespace

void bin_by_edges(const float* x, std::int64_t count, const double* edges, std::int64_t n_edges,
                  std::int32_t* codes) {
#pragma omp parallel for schedule(static) if (count >= detail::kParallelMinWork)
  for (std::int64_t i = 0; i < count; ++i) {
    codes[i] = static_cast<std::int32_t>(count_at_or_below(edges, n_edges, x[i]) - 1);
  }
}

void bin_by_width(const float* x, std::int64_t count, double width, std::int32_t* codes) {
#pragma omp parallel for schedule(static) if (count >= detail::kParallelMinWork)
  for (std::int64_t i = 0; i < count; ++i) {
    codes[i] = static_cast<std::int32_t>(std::floor(static_cast<double>(x[i]) / width));
  }
}

}  // namespace ibfast
