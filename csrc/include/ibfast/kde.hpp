// Pairwise-distance log-sum-exp for the KDE entropy bounds (Kolchinsky & Tracey).
#pragma once
#include <cstdint>

namespace ibfast {

// For every row i of the (n, d) row-major matrix x, in nats:
//   out_all[i]    = ln sum_{j}               exp(-alpha * ||x_i - x_j||^2)
//   out_within[i] = ln sum_{j: g_j == g_i}   exp(-alpha * ||x_i - x_j||^2)   (when groups given)
// j runs over all rows including i, so every sum is >= 1 and its largest term is exactly 1: the
// running maximum of a streamed log-sum-exp is the constant 0 and nothing can overflow. Distances
// are exact differences in float32 (no ||a||^2 + ||b||^2 - 2ab cancellation), terms below
// exp(-kSkipExponent) are skipped (they cannot move a sum >= 1). Each SIMD lane adds at most 32
// terms in float32 before the lane sums go into a float64 row sum, which bounds the rounding of a
// row's log-sum-exp by ~2e-6 nats (typically ~1e-7) while keeping the inner loop in float32.
// Streams over tiles: memory is O(n d) for a transposed copy plus O(n) for the sums, never n x n.
// groups may be null (then out_within is not written); out_within may be null.
void kde_log_sum_exp(const float* x, std::int64_t n, std::int64_t d, double alpha,
                     const std::int32_t* groups, double* out_all, double* out_within);

// How the kernel for several alphas visits pairs: each unordered pair once (kSymmetric, the default) or
// every ordered pair from its row (kPlain). Both give the same bits (kde.cpp: the summation order).
enum class KdeSymmetry { kSymmetric, kPlain };

// kde_log_sum_exp for n_alpha alphas from one distance computation: out_all[a] (and, when groups
// and out_within are given, out_within[a]) are alpha[a]'s outputs, each n doubles. Every alpha's
// results are bit for bit those of kde_log_sum_exp with that alpha alone.
void kde_log_sum_exp_alphas(const float* x, std::int64_t n, std::int64_t d, const double* alphas,
                            std::int64_t n_alpha, const std::int32_t* groups, double* const* out_all,
                            double* const* out_within, KdeSymmetry symmetry = KdeSymmetry::kSymmetric);

// One matrix's problem for kde_log_sum_exp_many: kde_log_sum_exp_alphas's arguments.
struct KdeProblem {
  const float* x = nullptr;
  std::int64_t n = 0;
  std::int64_t d = 0;
  const std::int32_t* groups = nullptr;
  const double* alphas = nullptr;
  std::int64_t n_alpha = 0;
  double* const* out_all = nullptr;
  double* const* out_within = nullptr;
};

// kde_log_sum_exp_alphas for many matrices (the layers and seeds of an epoch) in one parallel
// region whose threads run the matrices' tile jobs interleaved: the same bits as one call per
// matrix, with the cores busy to the end instead of waiting at each matrix's passes.
void kde_log_sum_exp_many(const KdeProblem* problems, std::int64_t count,
                          KdeSymmetry symmetry = KdeSymmetry::kSymmetric);

constexpr float kSkipExponent = 60.0f;

}  // namespace ibfast
