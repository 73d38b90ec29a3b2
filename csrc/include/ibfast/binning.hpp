// Binning of activation values into integer bin codes.
#pragma once
#include <cstdint>

namespace ibfast {

// codes[i] = the largest k with edges[k] <= x[i]; values below edges[0] get the underflow code -1,
// values above the top edge share the top code n_edges - 1. `edges` must be sorted ascending
// (repeated edges are allowed: they leave empty bins). Values are compared as doubles, so the
// result equals numpy's searchsorted(edges, x.astype(float64), side="right") - 1.
void bin_by_edges(const float* x, std::int64_t count, const double* edges, std::int64_t n_edges,
                  std::int32_t* codes);

// codes[i] = floor(x[i] / width), computed in double. The caller guarantees |x| / width < 2^31.
void bin_by_width(const float* x, std::int64_t count, double width, std::int32_t* codes);

}  // namespace ibfast
