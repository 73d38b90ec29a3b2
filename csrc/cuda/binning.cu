// Binning on the GPU, code for code equal to the CPU kernels in csrc/cpu/binning.cpp.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "binning.cuh"
#include "common.cuh"

namespace ibfast::cuda {

namespace {

using detail::as_stream;
using detail::blocks_for;
using detail::check_launch;
using detail::edge_code;
using detail::load_thresholds;
using detail::make_thresholds;
using detail::Thresholds;
using detail::width_code;

constexpr unsigned kThreads = 256;
// Each block copies the thresholds into shared memory once, so blocks loop over many values
// instead of there being one block per 256 values.
constexpr unsigned kMaxBlocks = 8192;

__global__ void bin_by_edges_kernel(const float* __restrict__ x, std::int64_t count, Thresholds th,
                                    std::int32_t* __restrict__ codes) {
  __shared__ float t[kMaxEdges];
  load_thresholds(th, t);
  const int n = th.n;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    codes[i] = edge_code(t, n, x[i]);
  }
}

__global__ void bin_by_width_kernel(const float* __restrict__ x, std::int64_t count, double width,
                                    std::int32_t* __restrict__ codes) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    codes[i] = width_code(x[i], width);
  }
}

}  // namespace

void bin_by_edges(const float* x, std::int64_t count, const double* edges, std::int64_t n_edges,
                  std::int32_t* codes, Stream stream) {
  const Thresholds th = make_thresholds(edges, n_edges, "ibfast CUDA bin_by_edges");
  if (count < 0) throw std::invalid_argument("ibfast CUDA bin_by_edges: negative count");
  if (count == 0) return;
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
