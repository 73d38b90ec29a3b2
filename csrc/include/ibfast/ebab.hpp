// Entropy-based adaptive binning (EBAB, Chelombiev et al. 2019): edges from distinct values.
#pragma once
#include <cstdint>
#include <vector>

namespace ibfast {

// The sorted distinct values of x (-0.0 and +0.0 count as one value, as numpy's unique does).
std::vector<float> sorted_distinct(const float* x, std::int64_t count);

// EBAB edges of one layer from all its values. u = the sorted distinct values, restricted to
// values > lower when has_lower (so `lower` itself and anything below it, which gets the underflow
// bin, take no share of the bins); U = |u|;
//   edges = [lower] (when has_lower) + [u[floor(k*U/B)] for k = 0..B-1] + [u[U-1]].
// When U == 0 (every value equals `lower`) the edges are just [lower].
std::vector<double> ebab_edges(const float* x, std::int64_t count, std::int64_t n_bins,
                               bool has_lower, double lower);

}  // namespace ibfast
