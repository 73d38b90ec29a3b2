#include "ibfast/kde.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "parallel.hpp"
#include "simd.hpp"

namespace ibfast {

namespace {

using simd::f8;
using simd::i8;

constexpr std::int64_t kRows = 4;                       // rows i held in registers at once
constexpr std::int64_t kColVectors = 2;                 // 2 x 8 columns j per register block
constexpr std::int64_t kCols = kColVectors * simd::kLanes;
constexpr std::int64_t kRowBlock = 128;                 // rows i per parallel task
constexpr std::int64_t kMaxColTile = 256;               // columns j per tile: float sums flushed to double

// The data laid out for the j side: x transposed to (d, n_pad) so that eight consecutive j are
// one vector load, and the group of every column (-1 for padding, which matches no row and is
// masked out of the "all" sum too).
struct ColumnSide {
  std::int64_t n_pad = 0;
  std::vector<float> xt;
  std::vector<std::int32_t> group;
};

ColumnSide make_column_side(const float* x, std::int64_t n, std::int64_t d, const std::int32_t* groups) {
  ColumnSide cs;
  cs.n_pad = (n + kCols - 1) / kCols * kCols;
  cs.xt.assign(static_cast<std::size_t>(d * cs.n_pad), 0.0f);
  cs.group.assign(static_cast<std::size_t>(cs.n_pad), -1);
#pragma omp parallel for schedule(static) if (n * d >= detail::kParallelMinWork)
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t k = 0; k < d; ++k) cs.xt[static_cast<std::size_t>(k * cs.n_pad + j)] = x[j * d + k];
    cs.group[static_cast<std::size_t>(j)] = groups ? groups[j] : 0;
  }
  return cs;
}

// Squared distances of kRows rows starting at row i0 to the kCols columns starting at j0.
// Rows past n (the ragged end of the last block) repeat row n-1; their results are dropped.
inline void distance_block(const float* x, std::int64_t n, std::int64_t d, const ColumnSide& cs,
                           std::int64_t i0, std::int64_t j0, f8 (&dist)[kRows][kColVectors]) {
  const float* rows[kRows];
  for (std::int64_t r = 0; r < kRows; ++r) rows[r] = x + std::min(i0 + r, n - 1) * d;
  for (auto& row : dist)
    for (auto& v : row) v = simd::splat(0.0f);
  const float* col = cs.xt.data() + j0;
  for (std::int64_t k = 0; k < d; ++k, col += cs.n_pad) {
    f8 xj[kColVectors];
    for (std::int64_t v = 0; v < kColVectors; ++v) xj[v] = simd::load(col + v * simd::kLanes);
    for (std::int64_t r = 0; r < kRows; ++r) {
      const f8 xi = simd::splat(rows[r][k]);
      for (std::int64_t v = 0; v < kColVectors; ++v) {
        const f8 diff = xj[v] - xi;
        dist[r][v] += diff * diff;
      }
    }
  }
}

}  // namespace

void kde_log_sum_exp(const float* x, std::int64_t n, std::int64_t d, double alpha,
                     const std::int32_t* groups, double* out_all, double* out_within) {
  if (n <= 0) return;
  const ColumnSide cs = make_column_side(x, n, d, groups);
  const bool want_within = groups != nullptr && out_within != nullptr;
  // Columns per tile: the tile of xt (d x tile floats) should stay in L2 while a row block sweeps it.
  const std::int64_t by_cache = std::max<std::int64_t>(kCols, (32768 / std::max<std::int64_t>(d, 1)) / kCols * kCols);
  const std::int64_t col_tile = std::min(kMaxColTile, by_cache);
  const f8 neg_alpha = simd::splat(static_cast<float>(-alpha));
  const f8 floor_exponent = simd::splat(-kSkipExponent);
  const std::int64_t n_blocks = (n + kRowBlock - 1) / kRowBlock;

#pragma omp parallel for schedule(dynamic, 1)
  for (std::int64_t b = 0; b < n_blocks; ++b) {
    const std::int64_t i_begin = b * kRowBlock;
    const std::int64_t i_end = std::min(n, i_begin + kRowBlock);
    double sum_all[kRowBlock] = {};
    double sum_within[kRowBlock] = {};
    for (std::int64_t t0 = 0; t0 < cs.n_pad; t0 += col_tile) {
      const std::int64_t t1 = std::min(cs.n_pad, t0 + col_tile);
      for (std::int64_t i0 = i_begin; i0 < i_end; i0 += kRows) {
        i8 row_group[kRows];
        for (std::int64_t r = 0; r < kRows; ++r) {
          row_group[r] = simd::splat_i(groups ? groups[std::min(i0 + r, n - 1)] : 0);
        }
        f8 acc_all[kRows];
        f8 acc_within[kRows];
        for (std::int64_t r = 0; r < kRows; ++r) acc_all[r] = acc_within[r] = simd::splat(0.0f);
        for (std::int64_t j0 = t0; j0 < t1; j0 += kCols) {
          f8 dist[kRows][kColVectors];
          distance_block(x, n, d, cs, i0, j0, dist);
          for (std::int64_t v = 0; v < kColVectors; ++v) {
            const i8 col_group = simd::load_i(cs.group.data() + j0 + v * simd::kLanes);
            const i8 real = col_group >= simd::splat_i(0);
            for (std::int64_t r = 0; r < kRows; ++r) {
              const f8 e = dist[r][v] * neg_alpha;
              const i8 keep = real & (e > floor_exponent);
              if (!simd::any(keep)) continue;  // every term underflows: skip the exp entirely
              const f8 term = simd::select(keep, simd::exp_nonpositive(e));
              acc_all[r] += term;
              if (want_within) acc_within[r] += simd::select(col_group == row_group[r], term);
            }
          }
        }
        // At most kMaxColTile / 8 terms <= 1 per float lane: flush to double before precision goes.
        for (std::int64_t r = 0; r < kRows && i0 + r < i_end; ++r) {
          sum_all[i0 + r - i_begin] += simd::sum(acc_all[r]);
          if (want_within) sum_within[i0 + r - i_begin] += simd::sum(acc_within[r]);
        }
      }
    }
    for (std::int64_t i = i_begin; i < i_end; ++i) {
      out_all[i] = std::log(sum_all[i - i_begin]);
      if (want_within) out_within[i] = std::log(sum_within[i - i_begin]);
    }
  }
}

}  // namespace ibfast
