#include "ibfast/kde.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "parallel.hpp"
#include "simd.hpp"

namespace ibfast {

namespace {

// ---- The summation order, which fixes every bit of the results ---------------------------------
//
// Columns j are cut into tiles of W columns (W a multiple of 16, from d alone: tile_width). For a
// row i and a tile, lane l (0..7) adds the tile's terms exp(-alpha D_ij) with j = l (mod 8) in
// float32 in increasing j (at most W / 8 = 32 terms of at most 1); the eight lanes then go into a
// double, lane 0 first, and that tile partial into the row's double sum, tiles in increasing
// order. Everything below (the register blocking, the vector width, which side of the symmetric
// pair a term is computed on, the e^-60 skip, the thread count) leaves that order alone: every
// kernel here gives the same bits, and so does one alpha of a multi-alpha call.
//
// ---- Symmetry --------------------------------------------------------------------------------
//
// D_ij = D_ji bit for bit ((a - b)^2 = (b - a)^2 in float). Rows are cut into the same tiles as
// columns. The tile pair (A, B), A < B, is computed once: its terms go into the rows of A (lane l
// = j mod 8, as above) and into the columns of B, where column j's lane l adds the terms of the
// rows i = l (mod 8) of A in increasing i: exactly the partial that row j would compute for tile
// A. Diagonal pairs (A, A) are computed whole, row side only. Passes A = 0, 1, ... run in order
// (a barrier apart); pass A does the pairs (A, B >= A) in parallel. Row j of tile B thus receives
// the partials of tiles 0..B-1 from passes 0..B-1 in order, then those of tiles B.. from its own
// pass (stored per tile and added in order): the sequence of double additions of the plain kernel.

using simd::f8;
using simd::i8;

constexpr std::int64_t kMaxTile = 256;  // columns per tile: float lanes hold <= 32 terms

// P rows of 8 columns per vector: 16-lane vectors hold two rows where AVX-512 makes them one
// register; otherwise 8 lanes, one row. Both give the same bits.
#ifdef IBFAST_SIMD_HAVE_F16
constexpr int kRowsPerVector = 2;
#else
constexpr int kRowsPerVector = 1;
#endif

template <int P>
struct Lanes;
template <>
struct Lanes<1> {
  using F = f8;
  using I = i8;
  static F splat(float v) { return simd::splat(v); }
  static I splat_i(std::int32_t v) { return simd::splat_i(v); }
  // Eight consecutive values as the vector of one row's eight columns.
  static F columns(const float* p) { return simd::load(p); }
  static I columns_i(const std::int32_t* p) { return simd::load_i(p); }
  // Row values v[0] (one per vector row) broadcast across the row's eight lanes.
  static F rows(const float* v) { return simd::splat(v[0]); }
  static I rows_i(const std::int32_t* v) { return simd::splat_i(v[0]); }
};
#ifdef IBFAST_SIMD_HAVE_F16
template <>
struct Lanes<2> {
  using F = simd::f16;
  using I = simd::i16;
  static F splat(float v) { return F{} + v; }
  static I splat_i(std::int32_t v) { return I{} + v; }
  static F columns(const float* p) {
    const f8 c = simd::load(p);
    return __builtin_shufflevector(c, c, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);
  }
  static I columns_i(const std::int32_t* p) {
    const i8 c = simd::load_i(p);
    return __builtin_shufflevector(c, c, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);
  }
  static F rows(const float* v) {
    const float a = v[0];
    const float b = v[1];
    return F{a, a, a, a, a, a, a, a, b, b, b, b, b, b, b, b};
  }
  static I rows_i(const std::int32_t* v) {
    const std::int32_t a = v[0];
    const std::int32_t b = v[1];
    return I{a, a, a, a, a, a, a, a, b, b, b, b, b, b, b, b};
  }
};
#endif

// Columns per tile: the tile of xt (d x W floats) should stay in L2 while a row group sweeps it.
std::int64_t tile_width(std::int64_t d) {
  const std::int64_t by_cache = std::max<std::int64_t>(16, (32768 / std::max<std::int64_t>(d, 1)) / 16 * 16);
  return std::min(kMaxTile, by_cache);
}

// x transposed to (d, n_pad) so that eight consecutive rows or columns are one vector load, and
// the group of every row (-1 for padding: matches nothing, masked out of every sum).
struct Layout {
  std::int64_t n = 0;
  std::int64_t d = 0;
  std::int64_t n_pad = 0;
  std::int64_t width = 0;  // W
  std::int64_t tiles = 0;
  std::vector<float> xt;
  std::vector<std::int32_t> group;
};

Layout make_layout(const float* x, std::int64_t n, std::int64_t d, const std::int32_t* groups) {
  Layout L;
  L.n = n;
  L.d = d;
  L.n_pad = (n + 15) / 16 * 16;
  L.width = tile_width(d);
  L.tiles = (L.n_pad + L.width - 1) / L.width;
  L.xt.assign(static_cast<std::size_t>(d * L.n_pad), 0.0f);
  L.group.assign(static_cast<std::size_t>(L.n_pad), -1);
#pragma omp parallel for schedule(static) if (n * d >= detail::kParallelMinWork)
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t k = 0; k < d; ++k) L.xt[static_cast<std::size_t>(k * L.n_pad + j)] = x[j * d + k];
    L.group[static_cast<std::size_t>(j)] = groups ? groups[j] : 0;
  }
  return L;
}

// One sweep over all pairs for NA alphas (kinds: 0 = all, 1 = within the row's group).
template <int NA, bool WITHIN>
struct Sweep {
  static constexpr int P = kRowsPerVector;
  using V = Lanes<P>;
  using F = typename V::F;
  using I = typename V::I;
  static constexpr int kKinds = WITHIN ? 2 : 1;
  static constexpr int kRowVecs = 4;              // row vectors per group
  static constexpr int kGroupRows = kRowVecs * P;  // 4 or 8 rows, a divisor of 16
  static constexpr int kColVecs = P == 2 ? 1 : 2;  // column vectors per block (8 columns each)
  static constexpr int kBlockCols = 8 * kColVecs;
  static constexpr int kResidues = 8 / P;           // column-side accumulators per column vector

  const Layout& L;
  float neg_alpha[NA];
  double* out[NA][2];

  // Per thread: the row values of one group (d x kRowVecs vectors) and the column-side
  // accumulators of one tile ([alpha][kind][residue][column vector]).
  struct Scratch {
    std::vector<F> row_x;
    std::vector<F> col_acc;
  };

  Scratch make_scratch() const {
    Scratch s;
    s.row_x.resize(static_cast<std::size_t>(std::max<std::int64_t>(L.d, 1) * kRowVecs));
    s.col_acc.assign(static_cast<std::size_t>(NA * kKinds * kResidues * (L.width / 8)), F{});
    return s;
  }

  std::int64_t tile_begin(std::int64_t t) const { return t * L.width; }
  std::int64_t tile_end(std::int64_t t) const { return std::min(L.n_pad, (t + 1) * L.width); }

  // Row tile A against column tile B. Writes each real row's partial (one double per alpha and
  // kind) to row_part[(alpha * kKinds + kind) * row_stride + (i - a0)]; with symmetric, also adds
  // each real column's partial to out[alpha][kind][j] (the running double sum).
  template <bool SYM>
  void tile_pair(std::int64_t A, std::int64_t B, Scratch& s, double* row_part, std::int64_t row_stride) const {
    const std::int64_t a0 = tile_begin(A);
    const std::int64_t a1 = tile_end(A);
    const std::int64_t b0 = tile_begin(B);
    const std::int64_t b1 = tile_end(B);
    const std::int64_t d = L.d;
    const std::int64_t n_pad = L.n_pad;
    const float* xt = L.xt.data();
    const std::int32_t* grp = L.group.data();
    const F floor_exponent = V::splat(-kSkipExponent);
    F na[NA];
    for (int a = 0; a < NA; ++a) na[a] = V::splat(neg_alpha[a]);
    F* col_acc = s.col_acc.data();
    const std::int64_t col_vectors = L.width / 8;

    for (std::int64_t i0 = a0; i0 < a1; i0 += kGroupRows) {
      for (std::int64_t k = 0; k < d; ++k) {
        for (int rv = 0; rv < kRowVecs; ++rv) {
          s.row_x[static_cast<std::size_t>(k * kRowVecs + rv)] = V::rows(xt + k * n_pad + i0 + rv * P);
        }
      }
      I row_group[kRowVecs];
      I row_real[kRowVecs];
      int residue[kRowVecs];
      for (int rv = 0; rv < kRowVecs; ++rv) {
        row_group[rv] = V::rows_i(grp + i0 + rv * P);
        row_real[rv] = row_group[rv] >= V::splat_i(0);
        residue[rv] = static_cast<int>(((i0 + rv * P) & 7) / P);
      }
      F acc[NA][kKinds][kRowVecs];
      for (auto& per_alpha : acc)
        for (auto& per_kind : per_alpha)
          for (auto& v : per_kind) v = F{};

      for (std::int64_t j0 = b0; j0 < b1; j0 += kBlockCols) {
        F dist[kRowVecs][kColVecs];
        for (auto& row : dist)
          for (auto& v : row) v = F{};
        const float* col = xt + j0;
        const F* rx = s.row_x.data();
        for (std::int64_t k = 0; k < d; ++k, col += n_pad, rx += kRowVecs) {
          F xj[kColVecs];
          for (int cv = 0; cv < kColVecs; ++cv) xj[cv] = V::columns(col + cv * 8);
          for (int rv = 0; rv < kRowVecs; ++rv) {
            const F xi = rx[rv];
            for (int cv = 0; cv < kColVecs; ++cv) {
              const F diff = xj[cv] - xi;
              dist[rv][cv] += diff * diff;
            }
          }
        }
        for (int cv = 0; cv < kColVecs; ++cv) {
          const I col_group = V::columns_i(grp + j0 + cv * 8);
          const I col_real = col_group >= V::splat_i(0);
          const std::int64_t jv = (j0 - b0) / 8 + cv;
          for (int rv = 0; rv < kRowVecs; ++rv) {
            const I real = col_real & row_real[rv];
            for (int a = 0; a < NA; ++a) {
              const F e = dist[rv][cv] * na[a];
              const I keep = real & (e > floor_exponent);
              if (!simd::any(keep)) continue;  // every term underflows: skip the exp entirely
              const F term = simd::select(keep, simd::exp_nonpositive(e));
              acc[a][0][rv] += term;
              F* c = col_acc + ((a * kKinds) * kResidues + residue[rv]) * col_vectors + jv;
              if constexpr (SYM) *c += term;
              if constexpr (WITHIN) {
                const F term_within = simd::select(col_group == row_group[rv], term);
                acc[a][1][rv] += term_within;
                if constexpr (SYM) c[kResidues * col_vectors] += term_within;
              }
            }
          }
        }
      }
      // Row side: each real row's tile partial, lanes in order into a double.
      for (int rv = 0; rv < kRowVecs; ++rv) {
        for (int h = 0; h < P; ++h) {
          const std::int64_t i = i0 + rv * P + h;
          if (i >= L.n) continue;
          for (int a = 0; a < NA; ++a) {
            for (int kind = 0; kind < kKinds; ++kind) {
              const F v = acc[a][kind][rv];
              double sum = 0.0;
              for (int l = 0; l < 8; ++l) sum += static_cast<double>(v[h * 8 + l]);
              row_part[(a * kKinds + kind) * row_stride + (i - a0)] = sum;
            }
          }
        }
      }
    }

    if constexpr (!SYM) return;
    // Column side: each real column's tile partial, residues (lanes) in order, then cleared.
    const float* acc_f = reinterpret_cast<const float*>(col_acc);
    for (int a = 0; a < NA; ++a) {
      for (int kind = 0; kind < kKinds; ++kind) {
        double* dst = out[a][kind];
        const float* base = acc_f + static_cast<std::size_t>((a * kKinds + kind) * kResidues * col_vectors) * (8 * P);
        for (std::int64_t j = b0; j < std::min(b1, L.n); ++j) {
          const std::int64_t jv = (j - b0) / 8;
          const std::int64_t lane = (j - b0) % 8;
          double sum = 0.0;
          for (int l = 0; l < 8; ++l) {
            const std::int64_t r = l / P;
            const std::int64_t h = l % P;
            sum += static_cast<double>(base[(r * col_vectors + jv) * (8 * P) + h * 8 + lane]);
          }
          dst[j] += sum;
        }
      }
    }
    std::fill(s.col_acc.begin(), s.col_acc.end(), F{});
  }

  // Rows of tile A: the running sums (tiles < A, symmetric only) plus the stored partials of
  // tiles A.. in order, then the log.
  void finish_rows(std::int64_t A, std::int64_t first_tile, const double* row_part, std::int64_t row_stride) const {
    const std::int64_t a0 = tile_begin(A);
    const std::int64_t a1 = std::min(tile_end(A), L.n);
    for (int a = 0; a < NA; ++a) {
      for (int kind = 0; kind < kKinds; ++kind) {
        double* dst = out[a][kind];
        const double* part = row_part + (a * kKinds + kind) * row_stride;
        for (std::int64_t i = a0; i < a1; ++i) {
          double sum = dst[i];
          for (std::int64_t t = first_tile; t < L.tiles; ++t) sum += part[(t - first_tile) * L.width + (i - a0)];
          dst[i] = std::log(sum);
        }
      }
    }
  }

  void run_symmetric() const {
    const std::int64_t T = L.tiles;
    // Row partials of the pass's tile A, for tiles A..T-1; two buffers (by the parity of A) so
    // that pass A + 1 can finish the rows of A while it computes.
    const std::int64_t per_tile = L.width;
    const std::int64_t row_stride = T * per_tile;
    std::vector<double> parts[2];
    for (auto& p : parts) p.assign(static_cast<std::size_t>(NA * kKinds * row_stride), 0.0);
    for (int a = 0; a < NA; ++a)
      for (int kind = 0; kind < kKinds; ++kind) std::fill(out[a][kind], out[a][kind] + L.n, 0.0);

#pragma omp parallel if (T > 1)
    {
      Scratch s = make_scratch();
      for (std::int64_t A = 0; A < T; ++A) {
        const std::int64_t jobs = T - A + (A > 0 ? 1 : 0);
        double* part = parts[A % 2].data();
#pragma omp for schedule(dynamic, 1)
        for (std::int64_t job = 0; job < jobs; ++job) {
          if (A > 0 && job == 0) {
            finish_rows(A - 1, A - 1, parts[(A - 1) % 2].data(), row_stride);
            continue;
          }
          const std::int64_t B = A + job - (A > 0 ? 1 : 0);
          if (B == A) {
            tile_pair<false>(A, B, s, part, row_stride);
          } else {
            tile_pair<true>(A, B, s, part + (B - A) * per_tile, row_stride);
          }
        }
      }
    }
    finish_rows(T - 1, T - 1, parts[(T - 1) % 2].data(), row_stride);
  }

  // Every pair from the row side, row tiles in parallel (no ordering between them needed).
  void run_plain() const {
    const std::int64_t T = L.tiles;
    const std::int64_t row_stride = T * L.width;
#pragma omp parallel
    {
      Scratch s = make_scratch();
      std::vector<double> part(static_cast<std::size_t>(NA * kKinds * row_stride));
#pragma omp for schedule(dynamic, 1)
      for (std::int64_t A = 0; A < T; ++A) {
        for (std::int64_t B = 0; B < T; ++B) tile_pair<false>(A, B, s, part.data() + B * L.width, row_stride);
        for (int a = 0; a < NA; ++a)
          for (int kind = 0; kind < kKinds; ++kind)
            std::fill(out[a][kind] + tile_begin(A), out[a][kind] + std::min(tile_end(A), L.n), 0.0);
        finish_rows(A, 0, part.data(), row_stride);
      }
    }
  }
};

template <int NA, bool WITHIN>
void sweep(const Layout& L, const double* alphas, double* const* out_all, double* const* out_within,
           bool symmetric) {
  Sweep<NA, WITHIN> s{L, {}, {}};
  for (int a = 0; a < NA; ++a) {
    s.neg_alpha[a] = static_cast<float>(-alphas[a]);
    s.out[a][0] = out_all[a];
    s.out[a][1] = WITHIN ? out_within[a] : nullptr;
  }
  if (symmetric) {
    s.run_symmetric();
  } else {
    s.run_plain();
  }
}

constexpr std::int64_t kMaxFused = 2;  // alphas per sweep; more alphas take several sweeps

}  // namespace

void kde_log_sum_exp_multi(const float* x, std::int64_t n, std::int64_t d, const double* alphas,
                           std::int64_t n_alpha, const std::int32_t* groups, double* const* out_all,
                           double* const* out_within, KdeSymmetry symmetry) {
  if (n <= 0 || n_alpha <= 0) return;
  const Layout L = make_layout(x, n, d, groups);
  const bool within = groups != nullptr && out_within != nullptr;
  const bool symmetric = symmetry == KdeSymmetry::kSymmetric;
  for (std::int64_t first = 0; first < n_alpha; first += kMaxFused) {
    const std::int64_t count = std::min(kMaxFused, n_alpha - first);
    const double* a = alphas + first;
    double* const* oa = out_all + first;
    double* const* ow = within ? out_within + first : nullptr;
    if (count == 2) {
      within ? sweep<2, true>(L, a, oa, ow, symmetric) : sweep<2, false>(L, a, oa, ow, symmetric);
    } else {
      within ? sweep<1, true>(L, a, oa, ow, symmetric) : sweep<1, false>(L, a, oa, ow, symmetric);
    }
  }
}

void kde_log_sum_exp(const float* x, std::int64_t n, std::int64_t d, double alpha,
                     const std::int32_t* groups, double* out_all, double* out_within) {
  double* const oa[1] = {out_all};
  double* const ow[1] = {out_within};
  kde_log_sum_exp_multi(x, n, d, &alpha, 1, groups, oa, groups != nullptr && out_within != nullptr ? ow : nullptr);
}

}  // namespace ibfast
