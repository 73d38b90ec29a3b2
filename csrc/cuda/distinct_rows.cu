// Exact plug-in entropies of the distinct rows of an int32 matrix on the GPU, equal (to rounding
// in the last bits of the sums) to ibfast::row_entropy in csrc/cpu/distinct_rows.cpp; and the
// same for the bin codes of a float matrix without the code matrix (binned_row_entropy: the
// codes are computed from the values where the hashing and the verification read them).
//
// Rows are grouped by sorting 64-bit row hashes. Equal rows always share a hash; the converse is
// verified on the device for every pair of neighbours in the sorted order (by transitivity that
// covers each run of equal hashes), so no two different rows are ever counted as one. Should a
// collision ever turn up, the exact CPU kernel computes the result from host copies instead.
//
// Run lengths c are found without a run-length encoding pass: the thread at the end of a run
// finds the run's start by a galloping search back over the sorted keys (O(log c) reads), and
// the c ln c terms are summed by a deterministic CUB reduction in double.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_reduce.cuh>
#include <cub/device/device_scan.cuh>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "binning.cuh"
#include "common.cuh"
#include "ibfast/binned_entropy.hpp"
#include "ibfast/bits.hpp"
#include "ibfast/distinct_rows.hpp"
#include "ibfast/row_entropy_checks.hpp"

namespace ibfast::cuda {

namespace {

using detail::as_stream;
using detail::blocks_for;
using detail::check;
using detail::check_launch;
using detail::cub_call;
using detail::edge_code;
using detail::load_thresholds;
using detail::make_thresholds;
using detail::Scratch;
using detail::Thresholds;
using detail::width_code;

constexpr unsigned kThreads = 256;  // a multiple of the warp size: the warp-per-item kernels need it
constexpr unsigned kWarp = 32;
constexpr unsigned kFullMask = 0xffffffffu;

__device__ inline double c_ln_c(std::uint64_t c) {
  return c > 1 ? static_cast<double>(c) * log(static_cast<double>(c)) : 0.0;
}

// Row hashing, one warp per row, so the lanes read consecutive codes (coalesced for rows of any
// width). Lane j chains the codes j, j + 32, ... through a bijective mix from a lane-specific
// seed, so a change in any one code changes that lane's value; the lanes' values are then combined
// by XOR. The hash differs from the CPU's: only speed depends on it, every match is verified. The
// matrix and the fused kernels hash the same codes through these same steps, so they order the
// rows identically.
__device__ inline std::uint64_t lane_seed(unsigned lane, std::int64_t d) {
  return bits::mix64((0x9e3779b97f4a7c15ULL * (lane + 1)) ^ static_cast<std::uint64_t>(d));
}
__device__ inline std::uint64_t lane_step(std::uint64_t h, std::int32_t code) {
  return bits::mix64(h ^ static_cast<std::uint32_t>(code));
}
__device__ inline std::uint64_t warp_hash(std::uint64_t h) {  // every lane of the warp calls it
  for (unsigned offset = kWarp / 2; offset > 0; offset /= 2) h ^= __shfl_xor_sync(kFullMask, h, offset);
  return bits::mix64(h);
}

__global__ void hash_rows_kernel(const std::int32_t* __restrict__ codes, std::int64_t n, std::int64_t d,
                                 std::uint64_t* __restrict__ hashes, std::int32_t* __restrict__ rows) {
  const unsigned lane = threadIdx.x % kWarp;
  const std::int64_t first_warp = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const std::int64_t n_warps = static_cast<std::int64_t>(gridDim.x) * blockDim.x / kWarp;
  for (std::int64_t r = first_warp; r < n; r += n_warps) {
    const std::int32_t* row = codes + r * d;
    std::uint64_t h = lane_seed(lane, d);
    for (std::int64_t k = lane; k < d; k += kWarp) h = lane_step(h, row[k]);
    h = warp_hash(h);
    if (lane == 0) {
      hashes[r] = h;
      rows[r] = static_cast<std::int32_t>(r);
    }
  }
}

// How the fused kernels bin: by the thresholds (copied to shared memory) or by a width.
struct Binner {
  Thresholds th;
  double width;
  int by_width;
};

__device__ inline std::int32_t bin_code(const Binner& b, const float* t, float v) {
  return b.by_width ? width_code(v, b.width) : edge_code(t, b.th.n, v);
}

// hash_rows_kernel for the codes of the rows of x, binned where they are read; hash & mask.
__global__ void binned_hash_rows_kernel(const float* __restrict__ x, std::int64_t n, std::int64_t d, Binner b,
                                        std::uint64_t mask, std::uint64_t* __restrict__ hashes,
                                        std::int32_t* __restrict__ rows) {
  __shared__ float t[kMaxEdges];
  load_thresholds(b.th, t);  // n = 0 under by_width: nothing copied
  const unsigned lane = threadIdx.x % kWarp;
  const std::int64_t first_warp = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const std::int64_t n_warps = static_cast<std::int64_t>(gridDim.x) * blockDim.x / kWarp;
  for (std::int64_t r = first_warp; r < n; r += n_warps) {
    const float* row = x + r * d;
    std::uint64_t h = lane_seed(lane, d);
    for (std::int64_t k = lane; k < d; k += kWarp) h = lane_step(h, bin_code(b, t, row[k]));
    h = warp_hash(h);
    if (lane == 0) {
      hashes[r] = h & mask;
      rows[r] = static_cast<std::int32_t>(r);
    }
  }
}

// Over the rows sorted by hash: starts[i] = 1 where a run of equal hashes begins. A warp per
// position compares the two rows of each equal-hash neighbour pair and raises *collision when
// they differ.
__global__ void mark_runs_kernel(const std::int32_t* __restrict__ codes, std::int64_t n, std::int64_t d,
                                 const std::uint64_t* __restrict__ hashes, const std::int32_t* __restrict__ rows,
                                 std::int32_t* __restrict__ starts, int* __restrict__ collision) {
  const unsigned lane = threadIdx.x % kWarp;
  const std::int64_t first_warp = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const std::int64_t n_warps = static_cast<std::int64_t>(gridDim.x) * blockDim.x / kWarp;
  for (std::int64_t i = first_warp; i < n; i += n_warps) {
    const bool start = (i == 0) || hashes[i] != hashes[i - 1];
    if (lane == 0) starts[i] = start ? 1 : 0;
    if (start) continue;  // uniform across the warp: every lane read the same hashes
    const std::int32_t* a = codes + static_cast<std::int64_t>(rows[i]) * d;
    const std::int32_t* b = codes + static_cast<std::int64_t>(rows[i - 1]) * d;
    bool differ = false;
    for (std::int64_t k = lane; k < d; k += kWarp) differ |= a[k] != b[k];
    if (__any_sync(kFullMask, differ) && lane == 0) atomicOr(collision, 1);
  }
}

// mark_runs_kernel for the rows of x: codes are compared where the floats differ (equal floats
// have equal codes).
__global__ void binned_mark_runs_kernel(const float* __restrict__ x, std::int64_t n, std::int64_t d, Binner b,
                                        const std::uint64_t* __restrict__ hashes,
                                        const std::int32_t* __restrict__ rows, std::int32_t* __restrict__ starts,
                                        int* __restrict__ collision) {
  __shared__ float t[kMaxEdges];
  load_thresholds(b.th, t);
  const unsigned lane = threadIdx.x % kWarp;
  const std::int64_t first_warp = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const std::int64_t n_warps = static_cast<std::int64_t>(gridDim.x) * blockDim.x / kWarp;
  for (std::int64_t i = first_warp; i < n; i += n_warps) {
    const bool start = (i == 0) || hashes[i] != hashes[i - 1];
    if (lane == 0) starts[i] = start ? 1 : 0;
    if (start) continue;  // uniform across the warp: every lane read the same hashes
    const float* a = x + static_cast<std::int64_t>(rows[i]) * d;
    const float* c = x + static_cast<std::int64_t>(rows[i - 1]) * d;
    bool differ = false;
    for (std::int64_t k = lane; k < d; k += kWarp) {
      const float va = a[k];
      const float vc = c[k];
      if (va != vc) differ |= bin_code(b, t, va) != bin_code(b, t, vc);
    }
    if (__any_sync(kFullMask, differ) && lane == 0) atomicOr(collision, 1);
  }
}

// row_id[original row] = its run's index (0-based) in the hash order.
__global__ void scatter_ids_kernel(const std::int32_t* __restrict__ rows, const std::int32_t* __restrict__ runs,
                                   std::int64_t n, std::int32_t* __restrict__ row_id) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    row_id[rows[i]] = runs[i] - 1;
  }
}

// Over sorted keys: terms[i] = c ln c at the last position of each run of c equal keys, else 0.
// The run's start is found by galloping back from its end: 1 read for a run of one, O(log c)
// otherwise, and no extra pass or buffer.
__global__ void run_terms_kernel(const std::uint64_t* __restrict__ keys, std::int64_t n, double* __restrict__ terms) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const std::uint64_t key = keys[i];
    if (i + 1 < n && keys[i + 1] == key) {
      terms[i] = 0.0;
      continue;
    }
    // Invariant: keys[equal] == key, and below < start of the run (below == -1: none known).
    std::int64_t equal = i;
    std::int64_t below = -1;
    for (std::int64_t step = 1;; step *= 2) {
      if (step > i) break;
      const std::int64_t probe = i - step;
      if (keys[probe] != key) {
        below = probe;
        break;
      }
      equal = probe;
    }
    while (equal - below > 1) {
      const std::int64_t mid = below + (equal - below) / 2;
      if (keys[mid] == key) {
        equal = mid;
      } else {
        below = mid;
      }
    }
    terms[i] = c_ln_c(static_cast<std::uint64_t>(i - equal + 1));
  }
}

// keys[i] = row_id[i] * n_groups + g[i], the (row, group) cell of sample i, and group_counts[g]
// += 1. Ids outside [0, n_groups) raise *bad instead of writing out of bounds. Lanes with the same
// group add their count with one atomic, so a few labels over many samples do not serialise
// on a few addresses; the loop runs warp-uniformly so that every lane takes part in the match.
__global__ void joint_keys_kernel(const std::int32_t* __restrict__ row_id, const std::int32_t* __restrict__ g,
                                  std::int64_t n, std::int64_t n_groups, std::uint64_t* __restrict__ keys,
                                  unsigned long long* __restrict__ group_counts, int* __restrict__ bad) {
  const unsigned lane = threadIdx.x % kWarp;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t base = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x - lane; base < n;
       base += stride) {
    const std::int64_t i = base + lane;
    const bool valid = i < n;
    const std::int32_t gi = valid ? g[i] : -1;
    const bool ok = valid && gi >= 0 && gi < n_groups;
    if (valid) {
      if (!ok) atomicOr(bad, 1);
      keys[i] = ok ? static_cast<std::uint64_t>(row_id[i]) * static_cast<std::uint64_t>(n_groups) +
                         static_cast<std::uint64_t>(gi)
                   : 0;
    }
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 700
    const unsigned peers = __match_any_sync(kFullMask, ok ? gi : -1);
    if (ok && lane == static_cast<unsigned>(__ffs(static_cast<int>(peers)) - 1)) {
      atomicAdd(&group_counts[gi], static_cast<unsigned long long>(__popc(peers)));
    }
#else  // no __match_any_sync before Volta
    if (ok) atomicAdd(&group_counts[gi], 1ULL);
#endif
  }
}

__global__ void count_terms_kernel(const unsigned long long* __restrict__ counts, std::int64_t n,
                                   double* __restrict__ terms) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    terms[i] = c_ln_c(counts[i]);
  }
}

void sum_doubles(const double* terms, std::int64_t n, double* out, cudaStream_t s) {
  cub_call(s, "cub::DeviceReduce::Sum", [&](void* temp, std::size_t& bytes) {
    return cub::DeviceReduce::Sum(temp, bytes, terms, out, n, s);
  });
}

// The exact fallback after a hash collision: host copies through the CPU kernel.
RowEntropy row_entropy_on_host(const std::int32_t* codes, std::int64_t n, std::int64_t d,
                               const std::vector<const std::int32_t*>& groupings,
                               const std::vector<std::int64_t>& n_groups, cudaStream_t s) {
  std::vector<std::int32_t> host_codes(static_cast<std::size_t>(n) * static_cast<std::size_t>(d));
  if (!host_codes.empty()) {
    check(cudaMemcpyAsync(host_codes.data(), codes, host_codes.size() * sizeof(std::int32_t),
                          cudaMemcpyDeviceToHost, s),
          "cudaMemcpyAsync");
  }
  std::vector<std::vector<std::int32_t>> host_groups(groupings.size(),
                                                     std::vector<std::int32_t>(static_cast<std::size_t>(n)));
  for (std::size_t k = 0; k < groupings.size(); ++k) {
    check(cudaMemcpyAsync(host_groups[k].data(), groupings[k], host_groups[k].size() * sizeof(std::int32_t),
                          cudaMemcpyDeviceToHost, s),
          "cudaMemcpyAsync");
  }
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  std::vector<const std::int32_t*> pointers;
  for (const auto& h : host_groups) pointers.push_back(h.data());
  return ::ibfast::row_entropy(host_codes.data(), n, d, pointers, n_groups);  // checks the group ids
}

// The pipeline of row_entropy after its argument checks, for n >= 1 rows. hash_rows(hashes,
// rows) writes each row's hash and index; mark_runs(hashes, rows, starts, collision) marks the
// starts of the runs of equal hashes in the sorted order and raises *collision where neighbours
// with equal hashes differ; on_collision() gives the exact result instead.
template <typename HashRows, typename MarkRuns, typename OnCollision>
RowEntropy row_entropy_pipeline(std::int64_t n, const std::vector<const std::int32_t*>& groupings,
                                const std::vector<std::int64_t>& n_groups, cudaStream_t s, HashRows hash_rows,
                                MarkRuns mark_runs, OnCollision on_collision) {
  RowEntropy result;
  const auto nn = static_cast<std::size_t>(n);
  const std::size_t n_sums = 1 + 2 * groupings.size();  // s_rows, then (s_joint, s_groups) per grouping

  // Rows in hash order.
  Scratch<std::uint64_t> hash_a(nn, s);
  Scratch<std::uint64_t> hash_b(nn, s);
  Scratch<std::int32_t> rows_a(nn, s);
  Scratch<std::int32_t> rows_b(nn, s);
  hash_rows(hash_a.get(), rows_a.get());
  cub::DoubleBuffer<std::uint64_t> hashes(hash_a.get(), hash_b.get());
  cub::DoubleBuffer<std::int32_t> rows(rows_a.get(), rows_b.get());
  cub_call(s, "cub::DeviceRadixSort::SortPairs", [&](void* temp, std::size_t& bytes) {
    return cub::DeviceRadixSort::SortPairs(temp, bytes, hashes, rows, n, 0, 64, s);
  });

  Scratch<int> flags(2, s);  // [0] a hash collision, [1] a group id out of range
  check(cudaMemsetAsync(flags.get(), 0, 2 * sizeof(int), s), "cudaMemsetAsync");
  Scratch<std::int32_t> starts(nn, s);
  mark_runs(hashes.Current(), rows.Current(), starts.get(), flags.get());
  Scratch<std::int32_t> runs(nn, s);
  cub_call(s, "cub::DeviceScan::InclusiveSum", [&](void* temp, std::size_t& bytes) {
    return cub::DeviceScan::InclusiveSum(temp, bytes, starts.get(), runs.get(), n, s);
  });
  Scratch<std::int32_t> row_id(nn, s);
  scatter_ids_kernel<<<blocks_for(n, kThreads), kThreads, 0, s>>>(rows.Current(), runs.get(), n, row_id.get());
  check_launch("scatter_ids_kernel");

  Scratch<double> sums(n_sums, s);
  Scratch<double> terms(nn, s);
  run_terms_kernel<<<blocks_for(n, kThreads), kThreads, 0, s>>>(hashes.Current(), n, terms.get());
  check_launch("run_terms_kernel");
  sum_doubles(terms.get(), n, sums.get(), s);

  // The joint keys need the number of distinct rows (for the sort's bit count), and a collision
  // makes all further device work pointless: one wait here.
  int collision = 0;
  std::int32_t k_rows = 0;
  check(cudaMemcpyAsync(&collision, flags.get(), sizeof collision, cudaMemcpyDeviceToHost, s), "cudaMemcpyAsync");
  check(cudaMemcpyAsync(&k_rows, runs.get() + (n - 1), sizeof k_rows, cudaMemcpyDeviceToHost, s), "cudaMemcpyAsync");
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  if (collision != 0) return on_collision();

  Scratch<std::uint64_t> keys_a(groupings.empty() ? 0 : nn, s);
  Scratch<std::uint64_t> keys_b(groupings.empty() ? 0 : nn, s);
  for (std::size_t k = 0; k < groupings.size(); ++k) {
    const std::int64_t n_g = n_groups[k];
    const auto rows_u = static_cast<std::uint64_t>(k_rows);
    if (static_cast<std::uint64_t>(n_g) > std::numeric_limits<std::uint64_t>::max() / rows_u) {
      throw std::invalid_argument("ibfast CUDA row_entropy: distinct rows x groups exceeds 2^64");
    }
    // Sort only the bits a (row, group) cell can use: fewer radix passes.
    const std::uint64_t max_key = rows_u * static_cast<std::uint64_t>(n_g) - 1;
    int end_bit = 1;
    while (end_bit < 64 && (max_key >> end_bit) != 0) ++end_bit;

    Scratch<unsigned long long> group_counts(static_cast<std::size_t>(n_g), s);
    check(cudaMemsetAsync(group_counts.get(), 0, static_cast<std::size_t>(n_g) * sizeof(unsigned long long), s),
          "cudaMemsetAsync");
    joint_keys_kernel<<<blocks_for(n, kThreads), kThreads, 0, s>>>(row_id.get(), groupings[k], n, n_g, keys_a.get(),
                                                                    group_counts.get(), flags.get() + 1);
    check_launch("joint_keys_kernel");
    cub::DoubleBuffer<std::uint64_t> keys(keys_a.get(), keys_b.get());
    cub_call(s, "cub::DeviceRadixSort::SortKeys", [&](void* temp, std::size_t& bytes) {
      return cub::DeviceRadixSort::SortKeys(temp, bytes, keys, n, 0, end_bit, s);
    });
    run_terms_kernel<<<blocks_for(n, kThreads), kThreads, 0, s>>>(keys.Current(), n, terms.get());
    check_launch("run_terms_kernel");
    sum_doubles(terms.get(), n, sums.get() + 1 + 2 * k, s);

    Scratch<double> group_terms(static_cast<std::size_t>(n_g), s);
    count_terms_kernel<<<blocks_for(n_g, kThreads), kThreads, 0, s>>>(group_counts.get(), n_g, group_terms.get());
    check_launch("count_terms_kernel");
    sum_doubles(group_terms.get(), n_g, sums.get() + 2 + 2 * k, s);
  }

  std::vector<double> host_sums(n_sums);
  int bad = 0;
  check(cudaMemcpyAsync(host_sums.data(), sums.get(), n_sums * sizeof(double), cudaMemcpyDeviceToHost, s),
        "cudaMemcpyAsync");
  check(cudaMemcpyAsync(&bad, flags.get() + 1, sizeof bad, cudaMemcpyDeviceToHost, s), "cudaMemcpyAsync");
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  if (bad != 0) throw std::invalid_argument("ibfast CUDA row_entropy: group id out of range");

  // Combined exactly as the CPU does.
  const double nd = static_cast<double>(n);
  result.n_distinct = k_rows;
  result.h_rows = std::max(0.0, std::log(nd) - host_sums[0] / nd);
  for (std::size_t k = 0; k < groupings.size(); ++k) {
    const double s_joint = host_sums[1 + 2 * k];
    const double s_groups = host_sums[2 + 2 * k];
    // Clamp the rounding residue: 0 <= H(R|G) <= H(R) holds exactly for plug-in entropies.
    result.h_given.push_back(std::clamp((s_groups - s_joint) / nd, 0.0, result.h_rows));
  }
  return result;
}

}  // namespace

RowEntropy row_entropy(const std::int32_t* codes, std::int64_t n, std::int64_t d,
                       const std::vector<const std::int32_t*>& groupings, const std::vector<std::int64_t>& n_groups,
                       Stream stream) {
  check_row_entropy_args("ibfast CUDA", n, d, groupings, n_groups);
  if (n == 0) return RowEntropy{};  // as on the CPU: no terms at all
  const cudaStream_t s = as_stream(stream);
  return row_entropy_pipeline(
      n, groupings, n_groups, s,
      [&](std::uint64_t* hashes, std::int32_t* rows) {
        hash_rows_kernel<<<blocks_for(n * kWarp, kThreads), kThreads, 0, s>>>(codes, n, d, hashes, rows);
        check_launch("hash_rows_kernel");
      },
      [&](const std::uint64_t* hashes, const std::int32_t* rows, std::int32_t* starts, int* collision) {
        mark_runs_kernel<<<blocks_for(n * kWarp, kThreads), kThreads, 0, s>>>(codes, n, d, hashes, rows, starts,
                                                                               collision);
        check_launch("mark_runs_kernel");
      },
      [&] { return row_entropy_on_host(codes, n, d, groupings, n_groups, s); });
}

RowEntropy binned_row_entropy(const float* x, std::int64_t n, std::int64_t d, const BinSpec& bins,
                              const std::vector<const std::int32_t*>& groupings,
                              const std::vector<std::int64_t>& n_groups, Stream stream, int hash_bits) {
  check_binned_row_entropy_args("ibfast CUDA", n, d, bins, groupings, n_groups, hash_bits);
  Binner b{};
  if (bins.by_width) {
    b.by_width = 1;
    b.width = bins.width;
  } else {
    b.th = make_thresholds(bins.edges, bins.n_edges, "ibfast CUDA binned_row_entropy");
  }
  if (n == 0) return RowEntropy{};
  const cudaStream_t s = as_stream(stream);
  const std::uint64_t mask = hash_bits == 64 ? ~0ULL : (1ULL << hash_bits) - 1;
  return row_entropy_pipeline(
      n, groupings, n_groups, s,
      [&](std::uint64_t* hashes, std::int32_t* rows) {
        binned_hash_rows_kernel<<<blocks_for(n * kWarp, kThreads), kThreads, 0, s>>>(x, n, d, b, mask, hashes, rows);
        check_launch("binned_hash_rows_kernel");
      },
      [&](const std::uint64_t* hashes, const std::int32_t* rows, std::int32_t* starts, int* collision) {
        binned_mark_runs_kernel<<<blocks_for(n * kWarp, kThreads), kThreads, 0, s>>>(x, n, d, b, hashes, rows,
                                                                                      starts, collision);
        check_launch("binned_mark_runs_kernel");
      },
      [&] {
        // Two different rows share a hash (or the hash was truncated): the codes after all, hashed
        // in full by the matrix pipeline, whose own collision path is exact.
        Scratch<std::int32_t> codes(static_cast<std::size_t>(n) * static_cast<std::size_t>(d), s);
        if (bins.by_width) {
          bin_by_width(x, n * d, bins.width, codes.get(), stream);
        } else {
          bin_by_edges(x, n * d, bins.edges, bins.n_edges, codes.get(), stream);
        }
        return row_entropy(codes.get(), n, d, groupings, n_groups, stream);
      });
}

}  // namespace ibfast::cuda
