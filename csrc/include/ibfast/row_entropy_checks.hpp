// The argument checks of row_entropy and binned_row_entropy, written once for the CPU kernels
// (csrc/cpu) and the CUDA ones (csrc/cuda): both refuse the same arguments, in the same order,
// with the same message after their prefix (`who`: "ibfast" or "ibfast CUDA"). Header-only so
// that the CUDA library, which does not link the CPU one, compiles the same code.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "ibfast/binned_entropy.hpp"

namespace ibfast {

// One n_groups >= 1 per grouping, a non-negative shape, and at most 2^31 - 1 rows (distinct-row
// ids are int32). The group ids themselves are checked where they are counted (a compare per id
// in the counting pass); the lengths of the group arrays are the caller's to check: only the
// bindings know them.
inline void check_row_entropy_args(const char* who, std::int64_t n, std::int64_t d,
                                   const std::vector<const std::int32_t*>& groupings,
                                   const std::vector<std::int64_t>& n_groups) {
  const std::string where = std::string(who) + " row_entropy: ";
  if (groupings.size() != n_groups.size()) throw std::invalid_argument(where + "one n_groups per grouping");
  if (n < 0 || d < 0) throw std::invalid_argument(where + "negative shape");
  if (n == 0) return;
  if (n > std::numeric_limits<std::int32_t>::max()) throw std::invalid_argument(where + "more than 2^31 - 1 rows");
  for (const std::int64_t n_g : n_groups) {
    if (n_g <= 0) throw std::invalid_argument(where + "a grouping needs n_groups >= 1");
  }
}

// check_row_entropy_args, then what binned_row_entropy adds: hash_bits in [1, 64], and a finite
// positive width or edges that exist.
inline void check_binned_row_entropy_args(const char* who, std::int64_t n, std::int64_t d, const BinSpec& bins,
                                          const std::vector<const std::int32_t*>& groupings,
                                          const std::vector<std::int64_t>& n_groups, int hash_bits) {
  check_row_entropy_args(who, n, d, groupings, n_groups);
  const std::string where = std::string(who) + " binned_row_entropy: ";
  if (hash_bits < 1 || hash_bits > 64) {
    throw std::invalid_argument(where + "hash_bits must be in [1, 64], got " + std::to_string(hash_bits));
  }
  if (bins.by_width) {
    if (!(bins.width > 0.0) || !std::isfinite(bins.width)) {
      throw std::invalid_argument(where + "width must be finite and > 0");
    }
  } else if (bins.n_edges < 0 || (bins.n_edges > 0 && bins.edges == nullptr)) {
    throw std::invalid_argument(where + "bad edges");
  }
}

}  // namespace ibfast
