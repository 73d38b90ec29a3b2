// Fused binned entropy: the entropies of row_entropy for the bin codes of a float matrix, computed
// in one pass over the values, without an (n, d) matrix of codes.
#pragma once
#include <cstdint>
#include <vector>

#include "ibfast/distinct_rows.hpp"

namespace ibfast {

// How values become codes: by sorted edges, exactly as bin_by_edges, or by a width, exactly as
// bin_by_width (the caller guarantees |x| / width < 2^31).
struct BinSpec {
  bool by_width = false;
  const double* edges = nullptr;  // by edges: sorted ascending (repeats allowed), n_edges of them
  std::int64_t n_edges = 0;
  double width = 0.0;  // by width: finite, > 0

  static BinSpec with_edges(const double* e, std::int64_t n) {
    BinSpec s;
    s.edges = e;
    s.n_edges = n;
    return s;
  }
  static BinSpec with_width(double w) {
    BinSpec s;
    s.by_width = true;
    s.width = w;
    return s;
  }
};

// Equal to row_entropy(codes, n, d, groupings, n_groups) for codes = bin_by_edges(x, ...) or
// bin_by_width(x, ...) of the (n, d) row-major matrix x, bit for bit (the same distinct-row ids,
// hence the same sums in the same order), with the same argument checks.
//
// One parallel pass bins each row into a small per-thread buffer (one byte per code when the
// codes fit) and hashes it there; rows are then grouped by hash, and every row of a group is
// verified against the group's first row by binning both again from x (values that are equal
// as floats are skipped without binning), in parallel. Should two different rows ever share a
// hash, the grouping is redone serially with every hash match verified, so different rows are
// never merged. Rows of fewer than 16 values with byte codes are binned as one flat array into
// n * d bytes instead, and hashed and compared there. hash_bits < 64 keeps only that many low
// bits of each hash: for tests, to force collisions through the verification.
RowEntropy binned_row_entropy(const float* x, std::int64_t n, std::int64_t d, const BinSpec& bins,
                              const std::vector<const std::int32_t*>& groupings,
                              const std::vector<std::int64_t>& n_groups, int hash_bits = 64);

}  // namespace ibfast
