// Bin codes on the GPU, shared by the binning kernels (binning.cu) and the fused binned entropy
// (distinct_rows.cu), so that both compute exactly the codes of the CPU kernels.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include "ibfast/bits.hpp"
#include "ibfast/cuda.hpp"

namespace ibfast::cuda::detail {

// The thresholds float_at_or_above(edge) travel by value as a kernel argument (2 KiB, within the
// 4 KiB limit): no global or __constant__ state, so launches on concurrent streams cannot see each
// other's edges.
struct Thresholds {
  float t[kMaxEdges];
  int n;
};

// Host: the thresholds of n_edges sorted edges (at most kMaxEdges; `who` names the caller).
inline Thresholds make_thresholds(const double* edges, std::int64_t n_edges, const char* who) {
  if (n_edges < 0 || n_edges > kMaxEdges) {
    throw std::invalid_argument(std::string(who) + ": at most " + std::to_string(kMaxEdges) + " edges, got " +
                                std::to_string(n_edges));
  }
  Thresholds th{};
  th.n = static_cast<int>(n_edges);
  for (std::int64_t k = 0; k < n_edges; ++k) th.t[k] = bits::float_at_or_above(edges[k]);
  return th;
}

// Parameter space is read through the constant cache, which serialises divergent indices; the
// binary search indexes per thread, so kernels search a shared copy (every thread calls this
// before any of them searches).
__device__ inline void load_thresholds(const Thresholds& th, float* shared_t) {
  for (int k = static_cast<int>(threadIdx.x); k < th.n; k += static_cast<int>(blockDim.x)) shared_t[k] = th.t[k];
  __syncthreads();
}

// The code of v for n thresholds t (in shared memory): the number of thresholds <= v, minus one.
// Branch-free search for the last threshold <= v: the trip count depends on n only, so a warp
// never diverges. A NaN compares false everywhere and gets -1, as on the CPU.
__device__ inline std::int32_t edge_code(const float* t, int n, float v) {
  int base = 0;
  int len = n;
  while (len > 1) {
    const int half = len / 2;
    base = (t[base + half] <= v) ? base + half : base;
    len -= half;
  }
  const int at_or_below = (n > 0 && t[base] <= v) ? base + 1 : 0;
  return at_or_below - 1;
}

// IEEE double division and floor, as on the CPU: the same code for every value.
__device__ inline std::int32_t width_code(float v, double width) {
  return static_cast<std::int32_t>(floor(static_cast<double>(v) / width));
}

}  // namespace ibfast::cuda::detail
