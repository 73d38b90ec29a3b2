// EBAB edges on the GPU: the same edges as csrc/cpu/ebab.cpp. Only the n_bins + 1 chosen values
// come back to the host, never the sorted values themselves.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_select.cuh>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "common.cuh"
#include "ibfast/bits.hpp"

namespace ibfast::cuda {

namespace {

using detail::as_stream;
using detail::blocks_for;
using detail::check;
using detail::check_launch;
using detail::cub_call;
using detail::Scratch;

constexpr unsigned kThreads = 256;

__device__ inline float key_float(std::uint32_t key) { return __uint_as_float(bits::key_float_bits(key)); }

__global__ void float_keys_kernel(const float* __restrict__ x, std::int64_t count, std::uint32_t* __restrict__ keys) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    keys[i] = bits::float_key(__float_as_uint(x[i]));
  }
}

// u = the sorted distinct keys (n_unique of them, a device count). Writes out[k] = the value of
// u[first + k * kept / n_bins] for k < n_bins and the top value at k = n_bins, where first skips
// the values <= lower; *n_kept = kept. Every thread finds `first` itself (a binary search of
// ~30 steps) so that no second launch or host round trip is needed.
__global__ void ebab_gather_kernel(const std::uint32_t* __restrict__ u, const std::int64_t* __restrict__ n_unique,
                                   std::int64_t n_bins, bool has_lower, double lower, double* __restrict__ out,
                                   std::int64_t* __restrict__ n_kept) {
  const std::int64_t total = *n_unique;
  std::int64_t first = 0;
  if (has_lower) {
    // The first value with lower < value, compared as doubles like the CPU's upper_bound.
    std::int64_t lo = 0;
    std::int64_t hi = total;
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (lower < static_cast<double>(key_float(u[mid]))) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    first = lo;
  }
  const std::int64_t kept = total - first;
  if (blockIdx.x == 0 && threadIdx.x == 0) *n_kept = kept;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k <= n_bins; k += stride) {
    const std::int64_t idx = (k < n_bins) ? k * kept / n_bins : kept - 1;
    // With nothing kept the host ignores `out`; it is written anyway so no uninitialised memory
    // is ever copied back.
    out[k] = (kept > 0) ? static_cast<double>(key_float(u[first + idx])) : 0.0;
  }
}

}  // namespace

std::vector<double> ebab_edges(const float* x, std::int64_t count, std::int64_t n_bins, bool has_lower,
                               double lower, Stream stream) {
  if (count < 0) throw std::invalid_argument("ibfast CUDA ebab_edges: negative count");
  std::vector<double> edges;
  if (has_lower) edges.push_back(lower);
  if (count == 0) return edges;  // no distinct values: as on the CPU
  // The CPU's loop over k < n_bins runs no times for n_bins <= 0, leaving only the top value.
  const std::int64_t bins = std::max<std::int64_t>(n_bins, 0);
  const cudaStream_t s = as_stream(stream);
  const auto n = static_cast<std::size_t>(count);

  // Two buffers in all: the sort ping-pongs between them (DoubleBuffer, so CUB needs no third),
  // and the distinct keys go to whichever one the sorted keys are not in.
  Scratch<std::uint32_t> buf_a(n, s);
  Scratch<std::uint32_t> buf_b(n, s);
  float_keys_kernel<<<blocks_for(count, kThreads), kThreads, 0, s>>>(x, count, buf_a.get());
  check_launch("float_keys_kernel");

  cub::DoubleBuffer<std::uint32_t> keys(buf_a.get(), buf_b.get());
  cub_call(s, "cub::DeviceRadixSort::SortKeys", [&](void* temp, std::size_t& bytes) {
    return cub::DeviceRadixSort::SortKeys(temp, bytes, keys, count, 0, 32, s);
  });

  Scratch<std::int64_t> counts(2, s);  // [0] distinct values, [1] those kept (> lower)
  std::uint32_t* sorted = keys.Current();
  std::uint32_t* unique = keys.Alternate();
  cub_call(s, "cub::DeviceSelect::Unique", [&](void* temp, std::size_t& bytes) {
    return cub::DeviceSelect::Unique(temp, bytes, sorted, unique, counts.get(), count, s);
  });

  Scratch<double> picked(static_cast<std::size_t>(bins) + 1, s);
  ebab_gather_kernel<<<blocks_for(bins + 1, kThreads), kThreads, 0, s>>>(unique, counts.get(), bins, has_lower,
                                                                         lower, picked.get(), counts.get() + 1);
  check_launch("ebab_gather_kernel");

  std::int64_t kept = 0;
  std::vector<double> values(static_cast<std::size_t>(bins) + 1);
  check(cudaMemcpyAsync(&kept, counts.get() + 1, sizeof kept, cudaMemcpyDeviceToHost, s), "cudaMemcpyAsync");
  // Copied even when nothing was kept (then ignored), to wait on the stream only once.
  check(cudaMemcpyAsync(values.data(), picked.get(), values.size() * sizeof(double), cudaMemcpyDeviceToHost, s),
        "cudaMemcpyAsync");
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  if (kept == 0) return edges;  // every value is <= lower: the edges are just [lower]
  edges.insert(edges.end(), values.begin(), values.end());
  return edges;
}

}  // namespace ibfast::cuda
