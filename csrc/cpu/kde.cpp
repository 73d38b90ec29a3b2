#include "ibfast/kde.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <thread>
#include <type_traits>
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
// kernel here gives the same bits, and so does one alpha of a call for several alphas.
//
// ---- Symmetry --------------------------------------------------------------------------------
//
// D_ij = D_ji bit for bit ((a - b)^2 = (b - a)^2 in float). Rows are cut into the same tiles as
// columns. The tile pair (A, B), A < B, is computed once: its terms go into the rows of A (lane l
// = j mod 8, as above) and into the columns of B, where column j's lane l adds the terms of the
// rows i = l (mod 8) of A in increasing i: exactly the partial that row j would compute for tile
// A. A diagonal pair (A, A) does the same within the tile with 16 x 16 blocks, its 16 x 16
// diagonal blocks from both sides (Sweep::Mode). Pass A is the pairs (A, B >= A), run in
// parallel; the column side of (A, B) waits for that of (A - 1, B), and the rows of tile A are
// made final after their pass and after every column-side addition into them. Row j of tile B
// thus receives the partials of tiles 0..B-1 from passes 0..B-1 in order, then those of tiles B..
// from its own pass (stored per tile and added in order): the sequence of double additions of the
// plain kernel. Every pair is evaluated once, except those of the 16 x 16 diagonal blocks (twice).
//
// ---- Scheduling -------------------------------------------------------------------------------
//
// Every matrix and group of up to kMaxFused alphas of a call is a Sweep, a list of jobs (tile
// pairs, row finishes); run_batch hands out the jobs of all sweeps, interleaved pass by pass, in
// list order to the threads. A job waits (spinning, then yielding) only for jobs before it in the
// list, which some thread already holds: nothing deadlocks, one thread never waits, and with
// several matrices the waits are rare, where a barrier per pass would idle the cores at every
// pass's ragged end.

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
  // Lane masks, and the few operations of the exp/sum step on them.
  using M = I;
  static M real(I group) { return group >= simd::splat_i(0); }
  static M both(M a, M b) { return a & b; }
  static M keep(M real, F e, F floor) { return real & (e > floor); }
  static M same(M keep, I a, I b) { return keep & (a == b); }
  static bool any(M m) { return simd::any(m); }
  static F exp(F e) { return simd::exp_nonpositive(e); }
  static F add(F acc, M m, F v) { return acc + simd::select(m, v); }  // + 0 leaves acc as it is
};
#ifdef IBFAST_SIMD_HAVE_F16
template <>
struct Lanes<2> {
  using F = simd::f16;
  using I = simd::i16;
  static F splat(float v) { return F{} + v; }
  static I splat_i(std::int32_t v) { return I{} + v; }
  static F columns(const float* p) {
#if defined(__AVX512DQ__)
    // One vbroadcastf32x8 from memory (the maskz form: the plain one trips GCC 12's
    // maybe-uninitialized warning).
    return reinterpret_cast<F>(_mm512_maskz_broadcast_f32x8(0xFFFF, _mm256_loadu_ps(p)));
#else
    const f8 c = simd::load(p);
    return __builtin_shufflevector(c, c, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);
#endif
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
  // AVX-512 mask registers: the comparisons write them, kortest tests them and the adds take
  // them, with no mask vectors to build, test and AND in between. Same values as Lanes<1>.
  using M = __mmask16;
  static M real(I group) { return _mm512_cmpge_epi32_mask(as_i(group), _mm512_setzero_si512()); }
  static M both(M a, M b) { return static_cast<M>(a & b); }
  static M keep(M real, F e, F floor) { return _mm512_mask_cmp_ps_mask(real, as_f(e), as_f(floor), _CMP_GT_OQ); }
  static M same(M keep, I a, I b) { return _mm512_mask_cmpeq_epi32_mask(keep, as_i(a), as_i(b)); }
  static bool any(M m) { return m != 0; }
  static F exp(F e) { return simd::exp_nonpositive_scalef(e); }
  static F add(F acc, M m, F v) { return F(_mm512_mask_add_ps(as_f(acc), m, as_f(acc), as_f(v))); }

 private:
  static __m512 as_f(F v) { return reinterpret_cast<__m512>(v); }
  static __m512i as_i(I v) { return reinterpret_cast<__m512i>(v); }
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
#pragma omp parallel for num_threads(detail::thread_count()) schedule(static) if (n * d >= detail::kParallelMinWork)
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t k = 0; k < d; ++k) L.xt[static_cast<std::size_t>(k * L.n_pad + j)] = x[j * d + k];
    L.group[static_cast<std::size_t>(j)] = groups ? groups[j] : 0;
  }
  return L;
}

// ---- The batch scheduler's pieces ------------------------------------------------------------

using Vec = Lanes<kRowsPerVector>::F;

// Per thread, reused by every job it runs: the row values of one row group, the column-side
// accumulators of one tile (all zero between jobs), and a plain job's row partials.
struct Scratch {
  std::vector<Vec> row_x;
  std::vector<Vec> col_acc;
  std::vector<double> plain_part;
};

class SweepBase;

struct Job {
  enum Type { kTile, kFinish };
  SweepBase* sweep;
  Type type;
  std::int64_t A;
  std::int64_t B;
};

// One pass over all pairs of one matrix for up to kMaxFused alphas, as a list of jobs.
class SweepBase {
 public:
  SweepBase() = default;
  SweepBase(const SweepBase&) = delete;
  SweepBase& operator=(const SweepBase&) = delete;
  virtual ~SweepBase() = default;
  virtual void run(const Job& job, Scratch& s) = 0;
  virtual std::size_t row_x_size() const = 0;
  virtual std::size_t col_acc_size() const = 0;
  virtual std::size_t plain_part_size() const = 0;
  virtual std::int64_t tiles() const = 0;
  virtual std::size_t bytes() const = 0;  // the buffers it holds while it runs
};

// Spins (then yields) until v >= target; v only grows.
inline void wait_at_least(const std::atomic<std::int64_t>& v, std::int64_t target) {
  for (int spins = 0; v.load(std::memory_order_acquire) < target; ++spins) {
    if (spins < 1024) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }
}

// One sweep over all pairs for NA alphas (kinds: 0 = all, 1 = within the row's group).
template <int NA, bool WITHIN>
struct Sweep final : SweepBase {
  static constexpr int P = kRowsPerVector;
  using V = Lanes<P>;
  using F = typename V::F;
  using I = typename V::I;
  using M = typename V::M;
  static constexpr int kKinds = WITHIN ? 2 : 1;
  static constexpr int kRowVecs = 4;              // row vectors per group
  static constexpr int kGroupRows = kRowVecs * P;  // 4 or 8 rows, a divisor of 16
  static constexpr int kColVecs = P == 2 ? 1 : 2;  // column vectors per block (8 columns each)
  static constexpr int kBlockCols = 8 * kColVecs;
  static constexpr int kResidues = 8 / P;           // column-side accumulators per column vector

  const Layout& L;
  float neg_alpha[NA] = {};
  double* out[NA][2] = {};
  bool symmetric = true;

  // Symmetric sweeps: the row partials of pass A (tiles A..T-1 of the rows of tile A) in one of
  // two buffers (by the parity of A), and the counters that order the jobs (see Sweep::run).
  std::int64_t row_stride = 0;
  std::vector<double> parts[2];
  std::unique_ptr<std::atomic<std::int64_t>[]> col_next;   // [B]: the next pass to add into tile B's rows
  std::unique_ptr<std::atomic<std::int64_t>[]> pass_done;  // [A]: finished pair jobs of pass A
  std::atomic<std::int64_t> rows_finished{0};              // tiles whose rows are final

  Sweep(const Layout& layout, const double* alphas, double* const* out_all, double* const* out_within, bool sym)
      : L(layout), symmetric(sym) {
    for (int a = 0; a < NA; ++a) {
      neg_alpha[a] = static_cast<float>(-alphas[a]);  // the float the single-alpha kernel used
      out[a][0] = out_all[a];
      out[a][1] = WITHIN ? out_within[a] : nullptr;
    }
    row_stride = L.tiles * L.width;
    if (symmetric) {
      for (auto& p : parts) p.assign(static_cast<std::size_t>(NA * kKinds * row_stride), 0.0);
      col_next = std::make_unique<std::atomic<std::int64_t>[]>(static_cast<std::size_t>(L.tiles));
      pass_done = std::make_unique<std::atomic<std::int64_t>[]>(static_cast<std::size_t>(L.tiles));
      for (std::int64_t t = 0; t < L.tiles; ++t) {
        col_next[t].store(0, std::memory_order_relaxed);
        pass_done[t].store(0, std::memory_order_relaxed);
      }
      for (int a = 0; a < NA; ++a)
        for (int kind = 0; kind < kKinds; ++kind) std::fill(out[a][kind], out[a][kind] + L.n, 0.0);
    }
  }

  std::size_t row_x_size() const override {
    return static_cast<std::size_t>(std::max<std::int64_t>(L.d, 1) * kRowVecs);
  }
  std::size_t col_acc_size() const override {
    return static_cast<std::size_t>(NA * kKinds * kResidues * (L.width / 8));
  }
  std::size_t plain_part_size() const override {
    return symmetric ? 0 : static_cast<std::size_t>(NA * kKinds * row_stride);
  }
  std::int64_t tiles() const override { return L.tiles; }
  std::size_t bytes() const override {
    return symmetric ? 2 * static_cast<std::size_t>(NA * kKinds * row_stride) * sizeof(double) : 0;
  }

  std::int64_t tile_begin(std::int64_t t) const { return t * L.width; }
  std::int64_t tile_end(std::int64_t t) const { return std::min(L.n_pad, (t + 1) * L.width); }

  // How a tile pair is visited. kRowOnly: every pair from its row (plain sweeps). kPair (A < B):
  // each pair once, the terms into the rows of A and the columns of B, whose tile partials are
  // added to their running sums. kDiagonal (A = B): within the tile, 16 x 16 blocks on the
  // diagonal from their rows, every other pair once: row i's float lanes first take, column side,
  // the terms of the rows of the blocks before its own (in increasing order: the row groups run
  // in order), then continue from its own block onward, row side, so each lane adds its terms in
  // increasing j as every other mode does.
  enum Mode { kRowOnly, kPair, kDiagonal };
  static constexpr std::int64_t kDiagonalBlock = 16;

  // Row tile A against column tile B. Writes each real row's partial (one double per alpha and
  // kind) to row_part[(alpha * kKinds + kind) * row_stride + (i - a0)]; kPair also adds each real
  // column's partial to out[alpha][kind][j] (the running double sum).
  template <Mode MODE>
  void tile_pair(std::int64_t A, std::int64_t B, Scratch& s, double* row_part) {
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
    const F na_smallest = V::splat(*std::max_element(neg_alpha, neg_alpha + NA));  // nearest 0
    F* col_acc = s.col_acc.data();
    F* row_x = s.row_x.data();
    const std::int64_t col_vectors = L.width / 8;
    // Column j's float lane l ("residue" l: rows i = l mod 8) in the column-side accumulators.
    const auto col_lane = [&](int a, int kind, std::int64_t j, int l) -> float& {
      float* base = reinterpret_cast<float*>(col_acc + ((a * kKinds + kind) * kResidues + l / P) * col_vectors);
      return base[((j - b0) / 8) * (8 * P) + (l % P) * 8 + (j - b0) % 8];
    };

    for (std::int64_t i0 = a0; i0 < a1; i0 += kGroupRows) {
      for (std::int64_t k = 0; k < d; ++k) {
        for (int rv = 0; rv < kRowVecs; ++rv) {
          row_x[k * kRowVecs + rv] = V::rows(xt + k * n_pad + i0 + rv * P);
        }
      }
      I row_group[kRowVecs];
      M row_real[kRowVecs];
      int residue[kRowVecs];
      for (int rv = 0; rv < kRowVecs; ++rv) {
        row_group[rv] = V::rows_i(grp + i0 + rv * P);
        row_real[rv] = V::real(row_group[rv]);
        residue[rv] = static_cast<int>(((i0 + rv * P) & 7) / P);
      }
      F acc[NA][kKinds][kRowVecs];
      for (int a = 0; a < NA; ++a) {
        for (int kind = 0; kind < kKinds; ++kind) {
          for (int rv = 0; rv < kRowVecs; ++rv) {
            F v{};
            if constexpr (MODE == kDiagonal) {  // the column side so far: j < this row's block
              for (int h = 0; h < P; ++h)
                for (int l = 0; l < 8; ++l) v[h * 8 + l] = col_lane(a, kind, i0 + rv * P + h, l);
            }
            acc[a][kind][rv] = v;
          }
        }
      }

      // One block of kBlockCols columns at j0; COL: its terms also go into the columns' lanes.
      const auto block = [&](std::int64_t j0, auto col_tag) {
        constexpr bool COL = decltype(col_tag)::value;
        F dist[kRowVecs][kColVecs];
        for (auto& row : dist)
          for (auto& v : row) v = F{};
        const float* col = xt + j0;
        const F* rx = row_x;
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
#pragma GCC unroll 2
        for (int cv = 0; cv < kColVecs; ++cv) {
          const I col_group = V::columns_i(grp + j0 + cv * 8);
          const M col_real = V::real(col_group);
          const std::int64_t jv = (j0 - b0) / 8 + cv;
#pragma GCC unroll 4
          for (int rv = 0; rv < kRowVecs; ++rv) {
            const M real = V::both(col_real, row_real[rv]);
            if constexpr (NA > 1) {
              // The smallest alpha first: where even its exponent underflows, every alpha's does
              // (fl(D * -alpha) falls as alpha grows), so one test stands for all of them on the
              // far pairs, most pairs of most layers. What is kept is unchanged, bit for bit.
              if (!V::any(V::keep(real, dist[rv][cv] * na_smallest, floor_exponent))) continue;
            }
#pragma GCC unroll 2
            for (int a = 0; a < NA; ++a) {
              const F e = dist[rv][cv] * na[a];
              const M keep = V::keep(real, e, floor_exponent);
              if (!V::any(keep)) continue;  // every term underflows: skip the exp entirely
              const F term = V::exp(e);  // lanes outside keep hold garbage, never added
              acc[a][0][rv] = V::add(acc[a][0][rv], keep, term);
              F* c = col_acc + ((a * kKinds) * kResidues + residue[rv]) * col_vectors + jv;
              if constexpr (COL) *c = V::add(*c, keep, term);
              if constexpr (WITHIN) {
                const M keep_within = V::same(keep, col_group, row_group[rv]);
                acc[a][1][rv] = V::add(acc[a][1][rv], keep_within, term);
                if constexpr (COL) c[kResidues * col_vectors] = V::add(c[kResidues * col_vectors], keep_within, term);
              }
            }
          }
        }
      };
      if constexpr (MODE == kDiagonal) {
        const std::int64_t own = a0 + (i0 - a0) / kDiagonalBlock * kDiagonalBlock;  // this row's block
        for (std::int64_t j0 = own; j0 < own + kDiagonalBlock; j0 += kBlockCols) block(j0, std::false_type{});
        for (std::int64_t j0 = own + kDiagonalBlock; j0 < b1; j0 += kBlockCols) block(j0, std::true_type{});
      } else {
        for (std::int64_t j0 = b0; j0 < b1; j0 += kBlockCols) block(j0, std::bool_constant<MODE == kPair>{});
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

    if constexpr (MODE == kRowOnly) return;
    if constexpr (MODE == kPair) {
      // Column side: each real column's tile partial, residues (lanes) in order into a double.
      for (int a = 0; a < NA; ++a) {
        for (int kind = 0; kind < kKinds; ++kind) {
          double* dst = out[a][kind];
          for (std::int64_t j = b0; j < std::min(b1, L.n); ++j) {
            double sum = 0.0;
            for (int l = 0; l < 8; ++l) sum += static_cast<double>(col_lane(a, kind, j, l));
            dst[j] += sum;
          }
        }
      }
    }
    // (kDiagonal: every column's lanes went into its own row's at the start of its row group.)
    std::fill(col_acc, col_acc + col_acc_size(), F{});
  }

  // Rows of tile A: the running sums (tiles < A, symmetric only) plus the stored partials of
  // tiles A.. in order, then the log.
  void finish_rows(std::int64_t A, std::int64_t first_tile, const double* row_part) {
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

  // One job of run_batch. Symmetric: the tile pair (A, B >= A), or the rows of tile A made final;
  // plain: the rows of tile A against every tile, made final.
  void run(const Job& job, Scratch& s) override {
    const std::int64_t A = job.A;
    if (!symmetric) {
      double* part = s.plain_part.data();
      for (std::int64_t B = 0; B < L.tiles; ++B) tile_pair<kRowOnly>(A, B, s, part + B * L.width);
      for (int a = 0; a < NA; ++a)
        for (int kind = 0; kind < kKinds; ++kind)
          std::fill(out[a][kind] + tile_begin(A), out[a][kind] + std::min(tile_end(A), L.n), 0.0);
      finish_rows(A, 0, part);
      return;
    }
    if (job.type == Job::kFinish) {
      // After every pair job of pass A, every column-side addition into the rows of A (from the
      // passes before A, in their order) and the finish of A - 1, so that rows_finished only grows.
      wait_at_least(pass_done[A], L.tiles - A);
      wait_at_least(col_next[A], A);
      wait_at_least(rows_finished, A);
      finish_rows(A, A, parts[A % 2].data());
      rows_finished.store(A + 1, std::memory_order_release);
      return;
    }
    const std::int64_t B = job.B;
    wait_at_least(rows_finished, A - 1);  // parts[A % 2] was pass A - 2's, read by its finish
    double* part = parts[A % 2].data() + (B - A) * L.width;
    if (B == A) {
      tile_pair<kDiagonal>(A, B, s, part);
    } else {
      wait_at_least(col_next[B], A);  // the rows of B take their tile partials in the order of A
      tile_pair<kPair>(A, B, s, part);
      col_next[B].store(A + 1, std::memory_order_release);
    }
    pass_done[A].fetch_add(1, std::memory_order_acq_rel);
  }
};

// Alphas per sweep; more alphas take several sweeps. Three: the paper's grid asks a layer for three
// noise levels (Saxe's fixed one and adaptive KDE's two powers), so one pass over the pairs
// computes each distance once for all of them.
constexpr std::int64_t kMaxFused = 3;
// Symmetric sweeps run together while their row-partial buffers fit this; more run in groups.
constexpr std::size_t kBatchBytes = std::size_t{64} << 20;

std::unique_ptr<SweepBase> make_sweep(const Layout& L, std::int64_t n_alpha, bool within, const double* alphas,
                                      double* const* out_all, double* const* out_within, bool symmetric) {
  if (n_alpha == 3) {
    if (within) return std::make_unique<Sweep<3, true>>(L, alphas, out_all, out_within, symmetric);
    return std::make_unique<Sweep<3, false>>(L, alphas, out_all, out_within, symmetric);
  }
  if (n_alpha == 2) {
    if (within) return std::make_unique<Sweep<2, true>>(L, alphas, out_all, out_within, symmetric);
    return std::make_unique<Sweep<2, false>>(L, alphas, out_all, out_within, symmetric);
  }
  if (within) return std::make_unique<Sweep<1, true>>(L, alphas, out_all, out_within, symmetric);
  return std::make_unique<Sweep<1, false>>(L, alphas, out_all, out_within, symmetric);
}

// Every job of the sweeps, handed out in list order to the threads, each running it to its end.
// A symmetric sweep's jobs wait only for jobs earlier in the list (Sweep::run), which some thread
// already holds, so nothing deadlocks, and with one thread no job ever waits. The list interleaves
// the sweeps pass by pass, so a job's predecessors are mostly long done: the threads stay busy to
// the end of the batch instead of meeting at a barrier after every pass of every layer.
void run_batch(const std::vector<SweepBase*>& sweeps, bool symmetric) {
  std::vector<Job> jobs;
  std::int64_t most_tiles = 0;
  std::size_t row_x = 1;
  std::size_t col_acc = 1;
  std::size_t plain = 1;
  for (SweepBase* sw : sweeps) {
    most_tiles = std::max(most_tiles, sw->tiles());
    row_x = std::max(row_x, sw->row_x_size());
    col_acc = std::max(col_acc, sw->col_acc_size());
    plain = std::max(plain, sw->plain_part_size());
  }
  for (std::int64_t A = 0; A < most_tiles; ++A) {
    for (SweepBase* sw : sweeps) {
      const std::int64_t T = sw->tiles();
      if (A >= T) continue;
      if (!symmetric) {
        jobs.push_back(Job{sw, Job::kTile, A, 0});
        continue;
      }
      if (A > 0) jobs.push_back(Job{sw, Job::kFinish, A - 1, 0});
      for (std::int64_t B = A; B < T; ++B) jobs.push_back(Job{sw, Job::kTile, A, B});
    }
  }
  if (symmetric) {
    for (SweepBase* sw : sweeps) jobs.push_back(Job{sw, Job::kFinish, sw->tiles() - 1, 0});
  }
  const auto n_jobs = static_cast<std::int64_t>(jobs.size());
  std::atomic<std::int64_t> next{0};
#pragma omp parallel num_threads(detail::thread_count()) if (n_jobs > 1)
  {
    Scratch s;
    s.row_x.resize(row_x);
    s.col_acc.assign(col_acc, Vec{});
    s.plain_part.resize(symmetric ? 0 : plain);
    for (;;) {
      const std::int64_t k = next.fetch_add(1, std::memory_order_relaxed);
      if (k >= n_jobs) break;
      const Job& job = jobs[static_cast<std::size_t>(k)];
      job.sweep->run(job, s);
    }
  }
}

}  // namespace

void kde_log_sum_exp_many(const KdeProblem* problems, std::int64_t count, KdeSymmetry symmetry) {
  const bool symmetric = symmetry == KdeSymmetry::kSymmetric;
  std::vector<Layout> layouts;
  layouts.reserve(static_cast<std::size_t>(std::max<std::int64_t>(count, 0)));  // no reallocation: sweeps point in
  std::vector<std::unique_ptr<SweepBase>> sweeps;
  for (std::int64_t p = 0; p < count; ++p) {
    const KdeProblem& pr = problems[p];
    if (pr.n <= 0 || pr.n_alpha <= 0) continue;
    layouts.push_back(make_layout(pr.x, pr.n, pr.d, pr.groups));
    const bool within = pr.groups != nullptr && pr.out_within != nullptr;
    for (std::int64_t first = 0; first < pr.n_alpha; first += kMaxFused) {
      sweeps.push_back(make_sweep(layouts.back(), std::min(kMaxFused, pr.n_alpha - first), within, pr.alphas + first,
                                  pr.out_all + first, within ? pr.out_within + first : nullptr, symmetric));
    }
  }
  // Consecutive groups of sweeps whose buffers fit kBatchBytes (at least one sweep each).
  std::vector<SweepBase*> group;
  std::size_t bytes = 0;
  for (const auto& sw : sweeps) {
    if (!group.empty() && bytes + sw->bytes() > kBatchBytes) {
      run_batch(group, symmetric);
      group.clear();
      bytes = 0;
    }
    group.push_back(sw.get());
    bytes += sw->bytes();
  }
  if (!group.empty()) run_batch(group, symmetric);
}

void kde_log_sum_exp_alphas(const float* x, std::int64_t n, std::int64_t d, const double* alphas,
                            std::int64_t n_alpha, const std::int32_t* groups, double* const* out_all,
                            double* const* out_within, KdeSymmetry symmetry) {
  const KdeProblem problem{x, n, d, groups, alphas, n_alpha, out_all, out_within};
  kde_log_sum_exp_many(&problem, 1, symmetry);
}

void kde_log_sum_exp(const float* x, std::int64_t n, std::int64_t d, double alpha,
                     const std::int32_t* groups, double* out_all, double* out_within) {
  double* const oa[1] = {out_all};
  double* const ow[1] = {out_within};
  kde_log_sum_exp_alphas(x, n, d, &alpha, 1, groups, oa, groups != nullptr && out_within != nullptr ? ow : nullptr);
}

}  // namespace ibfast
