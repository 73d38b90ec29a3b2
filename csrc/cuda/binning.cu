// Binning on the GPU, code for code equal to the CPU kernels in csrc/cpu/binning.cpp.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "common.cuh"
#include "ibfast/bits.hpp"

namespace ibfast::cuda {

namespace {

using detail::as_stream;
using detail::blocks_for;
using detail::check_launch;

constexpr unsigned kThreads = 256;
// Each block copies the thresholds into shared memory once, so blocks loop over many values
// instead of there being one block per 256 values.
constexpr unsigned kMaxBlocks = 8192;

// The thresholds travel by value as a kernel argument (2 KiB, within the 4 KiB limit): no global
// or __constant__ state, so launches on concurrent streams cannot see each other's edges.
struct Thresholds {
  float t[kMaxEdges];
  int n;
};

__global__ void bin_by_edges_kernel(const float* __restrict__ x, std::int64_t count, Thresholds th,
                                    std::int32_t* __restrict__ codes) {
  // Parameter space is read through the constant cache, which serialises divergent indices;
  // the binary search below indexes per thread, so it reads a shared copy instead.
  __shared__ float t[kMaxEdges];
  const int n = th.n;
  for (int k = static_cast<int>(threadIdx.x); k < n; k += static_cast<int>(blockDim.x)) t[k] = th.t[k];
  __syncthreads();
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    const float v = x[i];
    // Branch-free search for the last threshold <= v: the trip count depends on n only, so a
    // warp never diverges. A NaN compares false everywhere and gets -1, as on the CPU.
    int base = 0;
    int len = n;
    while (len > 1) {
      const int half = len / 2;
      base = (t[base + half] <= v) ? base + half : base;
      len -= half;
    }
    const int at_or_below = (n > 0 && t[base] <= v) ? base + 1 : 0;
    codes[i] = at_or_below - 1;
  }
}

__global__ void bin_by_width_kernel(const float* __restrict__ x, std::int64_t count, double width,
                                    std::int32_t* __restrict__ codes) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    // IEEE double division and floor, as on the CPU: the same code for every value.
    codes[i] = static_cast<std::int32_t>(floor(static_cast<double>(x[i]) / width));
  }
}

}  // namespace

void bin_by_edges(const float* x, std::int64_t count, const double* edges, std::int64_t n_edges,
                  std::int32_t* codes, Stream stream) {
  if (n_edges < 0 || n_edges > kMaxEdges) {
    throw std::invalid_argument("ibfast CUDA bin_by_edges: at most " + std::to_string(kMaxEdges) +
                                " edges, got " + std::to_string(n_edges));
  }
  if (count < 0) throw std::invalid_argument("ibfast CUDA bin_by_edges: negative count");
  if (count == 0) return;
  Thresholds th{};
  th.n = static_cast<int>(n_edges);
  for (std::int64_t k = 0; k < n_edges; ++k) th.t[k] = bits::float_at_or_above(edges[k]);
  bin_by_edges_kernel<<<blocks_for(count, kThreads, kMaxBlocks), kThreads, 0, as_stream(stream)>>>(x, count, th, codes);
  check_launch("bin_by_edges_kernel");
}

void bin_by_width(const float* x, std::int64_t count, double width, std::int32_t* codes, Stream stream) {
  if (count < 0) throw std::invalid_argument("ibfast CUDA bin_by_width: negative count");
  if (count == 0) return;
  bin_by_width_kernel<<<blocks_for(count, kThreads), kThreads, 0, as_stream(stream)>>>(x, count, width, codes);
  check_launch("bin_by_width_kernel");
}

}  // namespace ibfast::cuda
