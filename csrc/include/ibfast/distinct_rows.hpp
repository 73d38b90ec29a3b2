// Exact plug-in entropy of the distinct rows of an integer matrix.
#pragma once
#include <cstdint>
#include <vector>

namespace ibfast {

// ids[i] = the index (0..K-1, in order of first appearance) of row i among the distinct rows of the
// (n, d) row-major matrix `codes`. Rows are hashed, and every hash hit is verified by comparing the
// rows, so two different rows are never merged. Returns K.
std::int64_t distinct_row_ids(const std::int32_t* codes, std::int64_t n, std::int64_t d,
                              std::int32_t* ids);

// Plug-in entropies in nats, from the distinct-row ids of n rows:
//   h_rows = H(R) = -sum_r p(r) ln p(r)
//   h_given[k] = H(R | G_k) = sum_g p(g) H(R | G_k = g), for each grouping k given as ids in
//   [0, n_groups[k]) (e.g. labels, or input ids when inputs repeat).
// Throws std::invalid_argument unless there is one n_groups >= 1 per grouping and every id lies in
// [0, n_groups[k]); each grouping must point to n ids (the caller's to check: only it knows).
struct RowEntropy {
  double h_rows = 0.0;
  std::vector<double> h_given;
  std::int64_t n_distinct = 0;
};
RowEntropy row_entropy(const std::int32_t* codes, std::int64_t n, std::int64_t d,
                       const std::vector<const std::int32_t*>& groupings,
                       const std::vector<std::int64_t>& n_groups);

// The entropies of row_entropy from distinct-row ids ids[i] in [0, k_rows), numbered in order of
// first appearance (as distinct_row_ids numbers them): every path that finds the same partition of
// the rows sums the same terms in the same order, so its numbers are bit-identical. Checks the
// group ids; expects arguments that passed check_row_entropy_args (ibfast/row_entropy_checks.hpp).
RowEntropy row_entropy_from_ids(const std::int32_t* ids, std::int64_t k_rows, std::int64_t n,
                                const std::vector<const std::int32_t*>& groupings,
                                const std::vector<std::int64_t>& n_groups);

}  // namespace ibfast
