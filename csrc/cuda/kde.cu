// KDE pairwise-distance log-sum-exp on the GPU; semantics and precision as ibfast/kde.hpp.
//
// One thread per row i keeps kTileJ distances in registers while a block streams over its share
// of the columns j through shared memory, so nothing of size n x n ever exists. Distances are
// exact float32 differences, never ||a||^2 + ||b||^2 - 2ab: that form cancels catastrophically
// at small noise, where alpha is large and only distances tiny beside the norms carry weight, so
// its rounding error (relative to ||a||^2) swamps them and D_ii comes out nonzero. Exact
// differences make D_ii exactly 0 and the largest term of every sum exactly 1: no running
// maximum is needed.
//
// Several alphas per item (the upper and the lower bound: 1 / (2 s2) and 1 / (8 s2)) share one
// distance computation: up to kFused of them per pass, each with its own float tile sums, skip
// test and float64 sums, in the same order as an item with that alpha alone.
//
// Items (layers x epochs x seeds) go kBatch at a time into one launch whose blocks are a flat
// list: each item owns a contiguous range of block ids and a block finds its item by binary
// search. Small items thus fill the GPU together, and no block of a big grid idles because a
// neighbouring item is smaller (as with a grid padded to the largest item). The item
// descriptors travel as the kernel argument (__grid_constant__) rather than through a device
// array: no host buffer has to outlive an asynchronous copy, no pinned allocation, no
// synchronisation, and the call stays asynchronous like every other kernel on the stream.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "common.cuh"
#include "ibfast/kde.hpp"

namespace ibfast::cuda {

namespace {

constexpr int kRowThreads = 128;  // rows i per KDE block, one per thread
constexpr int kTileJ = 32;        // columns j per tile = distances each thread keeps in registers
constexpr int kTileK = 64;        // dimensions per shared tile: kTileK x kTileJ floats = 8 KiB
constexpr int kTransposeTile = 32;
constexpr int kTransposeThreads = 256;
constexpr int kLogThreads = 256;
constexpr int kBatch = 32;        // items per launch, bounded by the 4 KiB kernel-argument limit
constexpr int kFused = 2;         // alphas per item and pass; more alphas make more items

constexpr float kFloorExponent = -ibfast::kSkipExponent;

// Rows and dimensions are int in the kernels (32-bit tile arithmetic). 2^30 rows would be 10^18
// pairs, far more than the kernel could ever finish, so the bound costs nothing.
constexpr std::int64_t kMaxExtent = std::int64_t{1} << 30;

// Work per block, in units of one j tile times one dimension (128 x 32 pairs, ~64 instructions
// per thread). The exp, the skip test and the two sums cost about as much as kExpCost more
// dimensions, per alpha. A block does at least kMinBlockCost units so that its fixed costs
// (finding its item, loading groups, the atomics) stay a few percent; above that the j range of
// every item is split so that a launch has about kWaves waves of resident blocks, which evens out
// the tail.
constexpr double kExpCost = 4.0;
constexpr double kMinBlockCost = 128.0;
constexpr double kWaves = 4.0;

// One problem (one matrix, up to kFused alphas) as the kernels see it.
struct Item {
  const float* x;        // (n, d) row-major, the caller's
  float* xt_dst;         // where the transpose kernel writes x^T; null when this item makes no copy
  const float* xt;       // (d, n) x^T read by the KDE kernel: own copy, a shared one, or x when d <= 1
  const std::int32_t* groups;  // null unless the within-group sums are wanted
  double* sums;          // zero-initialised accumulators (scratch): [alpha][all, within][n]
  double* out_all[kFused];
  double* out_within[kFused];  // null unless wanted
  int n;
  int d;
  int n_alpha;           // 1..kFused
  int tiles_per_chunk;   // j tiles per KDE block
  float neg_alpha[kFused];
};

struct Batch {
  int count;
  // First block id of each item in each of the three launches; [count] is the grid size.
  int transpose_begin[kBatch + 1];
  int kde_begin[kBatch + 1];
  int log_begin[kBatch + 1];
  Item item[kBatch];
};
static_assert(sizeof(Batch) <= 4000, "Batch must fit the 4 KiB kernel-argument limit");

// The item whose block range [begin[k], begin[k+1]) holds block. Items with no blocks in this
// launch have begin[k] == begin[k+1] and are never returned: the largest k with begin[k] <= block
// is always one whose range is non-empty.
__device__ __forceinline__ int find_item(const int* begin, int count, int block) {
  int lo = 0;
  int hi = count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (begin[mid] <= block) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

// x (n, d) -> xt (d, n), so that the KDE kernel's loads of x_i[k] (consecutive threads =
// consecutive i) and of tile columns are coalesced. Through a padded shared tile so that both
// the global reads and the global writes are coalesced and the shared accesses conflict-free.
__global__ void __launch_bounds__(kTransposeThreads) transpose_kernel(const __grid_constant__ Batch batch) {
  const int block = static_cast<int>(blockIdx.x);
  const int idx = find_item(batch.transpose_begin, batch.count, block);
  const Item& it = batch.item[idx];
  const int local = block - batch.transpose_begin[idx];
  const int row_blocks = (it.n + kTransposeTile - 1) / kTransposeTile;
  const int r0 = (local % row_blocks) * kTransposeTile;
  const int c0 = (local / row_blocks) * kTransposeTile;

  __shared__ float tile[kTransposeTile][kTransposeTile + 1];
  for (int e = static_cast<int>(threadIdx.x); e < kTransposeTile * kTransposeTile; e += kTransposeThreads) {
    const int r = e / kTransposeTile;
    const int c = e % kTransposeTile;
    if (r0 + r < it.n && c0 + c < it.d) {
      tile[r][c] = it.x[static_cast<std::size_t>(r0 + r) * it.d + (c0 + c)];
    }
  }
  __syncthreads();
  for (int e = static_cast<int>(threadIdx.x); e < kTransposeTile * kTransposeTile; e += kTransposeThreads) {
    const int c = e / kTransposeTile;
    const int r = e % kTransposeTile;
    if (r0 + r < it.n && c0 + c < it.d) {
      it.xt_dst[static_cast<std::size_t>(c0 + c) * it.n + (r0 + r)] = tile[r][c];
    }
  }
}

// Block = kRowThreads rows i x one chunk of columns j of one item. Per tile of kTileJ columns:
// the tile's coordinates go through shared memory kTileK dimensions at a time (stored k-major so
// that one float4 broadcast load serves four columns), each thread adds (x_jk - x_ik)^2 into its
// kTileJ register distances, then turns them into terms. Rows past n (the ragged last row tile)
// compute on row n-1 so that every thread takes part in every __syncthreads and shared load;
// they only skip the final write.
__global__ void __launch_bounds__(kRowThreads) kde_kernel(const __grid_constant__ Batch batch) {
  const int block = static_cast<int>(blockIdx.x);
  const int idx = find_item(batch.kde_begin, batch.count, block);
  const Item& it = batch.item[idx];
  const int n = it.n;
  const int d = it.d;
  const float* __restrict__ xt = it.xt;
  const std::int32_t* __restrict__ groups = it.groups;
  const int n_alpha = it.n_alpha;
  float neg_alpha[kFused];
#pragma unroll
  for (int a = 0; a < kFused; ++a) neg_alpha[a] = it.neg_alpha[a];

  const int local = block - batch.kde_begin[idx];
  const int row_tiles = (n + kRowThreads - 1) / kRowThreads;
  const int i = (local % row_tiles) * kRowThreads + static_cast<int>(threadIdx.x);
  const int i_load = min(i, n - 1);
  const int chunk_cols = it.tiles_per_chunk * kTileJ;
  // j_begin is a multiple of kTileJ: the tiles, and so the float partial sums, do not depend on
  // how the j range was split (the batched and the one-by-one call agree to ~1e-16).
  const int j_begin = (local / row_tiles) * chunk_cols;
  const int j_end = j_begin + min(chunk_cols, n - j_begin);  // no int overflow near 2^30 rows
  const std::int32_t gi = groups != nullptr ? groups[i_load] : 0;

  __shared__ __align__(16) float sx[kTileK][kTileJ];
  __shared__ std::int32_t sg[kTileJ];

  double acc_all[kFused] = {};
  double acc_within[kFused] = {};
  for (int j0 = j_begin; j0 < j_end; j0 += kTileJ) {
    const int jn = min(kTileJ, j_end - j0);  // block-uniform, like every loop bound below
    float dist[kTileJ];
#pragma unroll
    for (int jj = 0; jj < kTileJ; ++jj) dist[jj] = 0.0f;

    // At least one pass even when d == 0, so that the group tile is loaded and synchronised.
    for (int k0 = 0; k0 == 0 || k0 < d; k0 += kTileK) {
      const int kn = min(kTileK, d - k0);
      __syncthreads();  // everyone is done reading the previous sx (and sg, in the exp below)
      for (int e = static_cast<int>(threadIdx.x); e < kn * kTileJ; e += kRowThreads) {
        const int kk = e / kTileJ;
        const int jj = e % kTileJ;
        sx[kk][jj] = jj < jn ? xt[static_cast<std::size_t>(k0 + kk) * n + (j0 + jj)] : 0.0f;
      }
      if (k0 == 0 && threadIdx.x < kTileJ) {
        const int jj = static_cast<int>(threadIdx.x);
        sg[jj] = jj < jn ? (groups != nullptr ? groups[j0 + jj] : 0) : -1;
      }
      __syncthreads();
#pragma unroll 4
      for (int kk = 0; kk < kn; ++kk) {
        const float xi = __ldg(xt + static_cast<std::size_t>(k0 + kk) * n + i_load);
        const float4* col = reinterpret_cast<const float4*>(sx[kk]);
#pragma unroll
        for (int q = 0; q < kTileJ / 4; ++q) {
          const float4 c = col[q];
          const float t0 = c.x - xi;
          const float t1 = c.y - xi;
          const float t2 = c.z - xi;
          const float t3 = c.w - xi;
          dist[4 * q + 0] = fmaf(t0, t0, dist[4 * q + 0]);
          dist[4 * q + 1] = fmaf(t1, t1, dist[4 * q + 1]);
          dist[4 * q + 2] = fmaf(t2, t2, dist[4 * q + 2]);
          dist[4 * q + 3] = fmaf(t3, t3, dist[4 * q + 3]);
        }
      }
    }

    // At most kTileJ terms <= 1 in float before they go into the double row sum: the CPU
    // kernel's bound (~2e-6 nats worst case on the log-sum-exp, ~1e-7 typically). Each alpha's
    // float sums see its terms in the same order whatever the other alphas of the item.
#pragma unroll
    for (int a = 0; a < kFused; ++a) {
      if (a >= n_alpha) break;  // block-uniform
      float tile_all = 0.0f;
      float tile_within = 0.0f;
#pragma unroll
      for (int jj = 0; jj < kTileJ; ++jj) {
        const float e = dist[jj] * neg_alpha[a];
        // Terms below exp(-60) cannot move a sum >= 1: skipped, as on the CPU (NaN is skipped too).
        if (jj < jn && e > kFloorExponent) {
          // __expf: ~2 ulp plus |e| * 2^-24 relative for the argument's rounding, i.e. < 1e-6 on
          // every term that matters; __expf(0) is exactly 1 (ex2.approx of +-0), so the diagonal is.
          const float term = __expf(e);
          tile_all += term;
          if (sg[jj] == gi) tile_within += term;
        }
      }
      acc_all[a] += static_cast<double>(tile_all);
      acc_within[a] += static_cast<double>(tile_within);
    }
  }

  if (i < n) {
    // One atomic per row, chunk and sum; chunks of a row run in different blocks. Addition order
    // varies between runs, so results may differ in the last bits of a double (~1e-16).
    const int kinds = groups != nullptr ? 2 : 1;
#pragma unroll
    for (int a = 0; a < kFused; ++a) {
      if (a >= n_alpha) break;
      double* sums = it.sums + static_cast<std::size_t>(a * kinds) * n;
      atomicAdd(sums + i, acc_all[a]);
      if (groups != nullptr) atomicAdd(sums + n + i, acc_within[a]);
    }
  }
}

__global__ void __launch_bounds__(kLogThreads) log_kernel(const __grid_constant__ Batch batch) {
  const int block = static_cast<int>(blockIdx.x);
  const int idx = find_item(batch.log_begin, batch.count, block);
  const Item& it = batch.item[idx];
  const int i = (block - batch.log_begin[idx]) * kLogThreads + static_cast<int>(threadIdx.x);
  if (i >= it.n) return;
  const int kinds = it.groups != nullptr ? 2 : 1;
  for (int a = 0; a < it.n_alpha; ++a) {
    const double* sums = it.sums + static_cast<std::size_t>(a * kinds) * it.n;
    it.out_all[a][i] = log(sums[i]);
    if (it.groups != nullptr) it.out_within[a][i] = log(sums[it.n + i]);
  }
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

int to_grid(std::int64_t blocks) {
  if (blocks > INT_MAX) throw std::invalid_argument("ibfast CUDA kde_log_sum_exp: problem too large for one launch");
  return static_cast<int>(blocks);
}

// One pass's share of a KdeItem: alphas [first, first + count), count <= kFused.
struct Part {
  const KdeItem* item;
  int first;
  int count;
};

void run_batch(const Part* parts, int count, double target_blocks, cudaStream_t stream) {
  Batch batch{};
  batch.count = count;

  // Scratch layout. Parts that read the same matrix (the alphas of one item beyond kFused, or the
  // same layer passed twice) share one transposed copy; for d <= 1 x is its own transpose.
  std::vector<int> copy_of(static_cast<std::size_t>(count), -1);
  std::vector<std::size_t> xt_offset(static_cast<std::size_t>(count), 0);
  std::vector<std::size_t> sum_offset(static_cast<std::size_t>(count), 0);
  std::size_t xt_floats = 0;
  std::size_t sum_doubles = 0;
  double total_cost = 0.0;
  for (int a = 0; a < count; ++a) {
    const KdeItem& item = *parts[a].item;
    const auto n = static_cast<std::size_t>(item.n);
    const auto d = static_cast<std::size_t>(item.d);
    if (item.d > 1) {
      for (int b = 0; b < a; ++b) {
        const KdeItem& other = *parts[b].item;
        if (other.x == item.x && other.n == item.n && other.d == item.d) {
          copy_of[a] = b;
          break;
        }
      }
      if (copy_of[a] < 0) {
        xt_offset[a] = xt_floats;
        xt_floats += n * d;
      }
    }
    const bool within = item.groups != nullptr && !item.out_within.empty();
    sum_offset[a] = sum_doubles;
    sum_doubles += (within ? 2 * n : n) * static_cast<std::size_t>(parts[a].count);
    total_cost += static_cast<double>(ceil_div(item.n, kRowThreads)) * static_cast<double>(ceil_div(item.n, kTileJ)) *
                  (static_cast<double>(item.d) + kExpCost * parts[a].count);
  }
  const double block_cost = std::max(kMinBlockCost, total_cost / target_blocks);

  detail::Scratch<float> xt(xt_floats, stream);
  detail::Scratch<double> sums(sum_doubles, stream);

  std::int64_t transpose_blocks = 0;
  std::int64_t kde_blocks = 0;
  std::int64_t log_blocks = 0;
  for (int a = 0; a < count; ++a) {
    const Part& part = parts[a];
    const KdeItem& item = *part.item;
    Item& it = batch.item[a];
    const bool within = item.groups != nullptr && !item.out_within.empty();
    it.x = item.x;
    it.n = static_cast<int>(item.n);
    it.d = static_cast<int>(item.d);
    it.n_alpha = part.count;
    for (int k = 0; k < part.count; ++k) {
      const auto src = static_cast<std::size_t>(part.first + k);
      it.neg_alpha[k] = static_cast<float>(-item.alphas[src]);  // as the CPU kernel rounds it
      it.out_all[k] = item.out_all[src];
      it.out_within[k] = within ? item.out_within[src] : nullptr;
    }
    it.groups = within ? item.groups : nullptr;
    it.sums = sums.get() + sum_offset[a];
    if (item.d <= 1) {
      it.xt = item.x;
    } else if (copy_of[a] >= 0) {
      it.xt = batch.item[copy_of[a]].xt;
    } else {
      it.xt_dst = xt.get() + xt_offset[a];
      it.xt = it.xt_dst;
    }

    const std::int64_t j_tiles = ceil_div(item.n, kTileJ);
    const double chunk_cost = static_cast<double>(j_tiles) * (static_cast<double>(item.d) + kExpCost * part.count);
    const auto wanted = static_cast<std::int64_t>(std::ceil(chunk_cost / block_cost));
    const std::int64_t chunks_wanted = std::clamp<std::int64_t>(wanted, 1, j_tiles);
    const std::int64_t tiles_per_chunk = ceil_div(j_tiles, chunks_wanted);
    const std::int64_t chunks = ceil_div(j_tiles, tiles_per_chunk);  // none empty
    it.tiles_per_chunk = static_cast<int>(tiles_per_chunk);

    batch.transpose_begin[a] = to_grid(transpose_blocks);
    batch.kde_begin[a] = to_grid(kde_blocks);
    batch.log_begin[a] = to_grid(log_blocks);
    if (it.xt_dst != nullptr) {
      transpose_blocks += ceil_div(item.n, kTransposeTile) * ceil_div(item.d, kTransposeTile);
    }
    kde_blocks += ceil_div(item.n, kRowThreads) * chunks;
    log_blocks += ceil_div(item.n, kLogThreads);
  }
  batch.transpose_begin[count] = to_grid(transpose_blocks);
  batch.kde_begin[count] = to_grid(kde_blocks);
  batch.log_begin[count] = to_grid(log_blocks);

  detail::check(cudaMemsetAsync(sums.get(), 0, sum_doubles * sizeof(double), stream), "cudaMemsetAsync");
  if (transpose_blocks > 0) {
    transpose_kernel<<<static_cast<unsigned>(transpose_blocks), kTransposeThreads, 0, stream>>>(batch);
    detail::check_launch("kde transpose_kernel");
  }
  kde_kernel<<<static_cast<unsigned>(kde_blocks), kRowThreads, 0, stream>>>(batch);
  detail::check_launch("kde_kernel");
  log_kernel<<<static_cast<unsigned>(log_blocks), kLogThreads, 0, stream>>>(batch);
  detail::check_launch("kde log_kernel");
  // xt and sums are freed here in stream order, after the kernels that use them.
}

}  // namespace

void kde_log_sum_exp(const std::vector<KdeItem>& items, Stream stream) {
  std::vector<Part> work;
  work.reserve(items.size());
  for (const KdeItem& item : items) {
    if (item.n < 0 || item.d < 0) throw std::invalid_argument("ibfast CUDA kde_log_sum_exp: negative n or d");
    if (item.n > kMaxExtent || item.d > kMaxExtent) {
      throw std::invalid_argument("ibfast CUDA kde_log_sum_exp: n or d above 2^30");
    }
    if (item.alphas.size() != item.out_all.size() ||
        (!item.out_within.empty() && item.out_within.size() != item.alphas.size())) {
      throw std::invalid_argument("ibfast CUDA kde_log_sum_exp: one out_all (and out_within) per alpha");
    }
    if (item.alphas.size() > static_cast<std::size_t>(INT_MAX)) {
      throw std::invalid_argument("ibfast CUDA kde_log_sum_exp: too many alphas");
    }
    if (item.n == 0 || item.alphas.empty()) continue;
    if (item.d > 0 && item.x == nullptr) throw std::invalid_argument("ibfast CUDA kde_log_sum_exp: null x");
    const bool within = item.groups != nullptr && !item.out_within.empty();
    for (std::size_t a = 0; a < item.alphas.size(); ++a) {
      if (item.out_all[a] == nullptr || (within && item.out_within[a] == nullptr)) {
        throw std::invalid_argument("ibfast CUDA kde_log_sum_exp: null output");
      }
    }
    const auto n_alpha = static_cast<int>(item.alphas.size());
    for (int first = 0; first < n_alpha; first += kFused) {
      work.push_back(Part{&item, first, std::min(kFused, n_alpha - first)});
    }
  }
  if (work.empty()) return;

  const cudaStream_t s = detail::as_stream(stream);
  int device = 0;
  int sms = 0;
  int per_sm = 0;
  detail::check(cudaGetDevice(&device), "cudaGetDevice");
  detail::check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
  detail::check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kde_kernel, kRowThreads, 0),
                "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
  const double target_blocks = static_cast<double>(std::max(sms, 1)) * std::max(per_sm, 1) * kWaves;

  for (std::size_t first = 0; first < work.size(); first += kBatch) {
    const auto count = static_cast<int>(std::min<std::size_t>(kBatch, work.size() - first));
    run_batch(work.data() + first, count, target_blocks, s);
  }
}

}  // namespace ibfast::cuda
