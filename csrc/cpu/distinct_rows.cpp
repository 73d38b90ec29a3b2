#include "ibfast/distinct_rows.hpp"

#include "ibfast/bits.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "ibfast/row_entropy_checks.hpp"
#include "number_rows.hpp"
#include "parallel.hpp"

namespace ibfast {

namespace {

// A 64-bit hash of one row. Only speed depends on its quality: every hit is verified.
inline std::uint64_t hash_row(const std::int32_t* row, std::int64_t d) {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ static_cast<std::uint64_t>(d);
  std::int64_t k = 0;
  for (; k + 1 < d; k += 2) {
    std::uint64_t w;
    std::memcpy(&w, row + k, sizeof w);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  if (k < d) h = (h ^ static_cast<std::uint32_t>(row[k])) * 0x100000001b3ULL;
  return bits::mix64(h);
}

inline double sum_c_ln_c(std::int64_t c) { return c > 1 ? static_cast<double>(c) * std::log(static_cast<double>(c)) : 0.0; }

}  // namespace

std::int64_t distinct_row_ids(const std::int32_t* codes, std::int64_t n, std::int64_t d,
                              std::int32_t* ids) {
  std::vector<std::uint64_t> hashes(static_cast<std::size_t>(n));
#pragma omp parallel for num_threads(detail::thread_count()) schedule(static) if (n * d >= detail::kParallelMinWork)
  for (std::int64_t i = 0; i < n; ++i) hashes[static_cast<std::size_t>(i)] = hash_row(codes + i * d, d);

  const std::size_t row_bytes = static_cast<std::size_t>(d) * sizeof(std::int32_t);
  return detail::number_rows(hashes.data(), n, ids, [&](std::int64_t r, std::int64_t i) {
    return std::memcmp(codes + r * d, codes + i * d, row_bytes) == 0;
  });
}

RowEntropy row_entropy(const std::int32_t* codes, std::int64_t n, std::int64_t d,
                       const std::vector<const std::int32_t*>& groupings,
                       const std::vector<std::int64_t>& n_groups) {
  check_row_entropy_args("ibfast", n, d, groupings, n_groups);
  if (n == 0) return RowEntropy{};
  std::vector<std::int32_t> ids(static_cast<std::size_t>(n));
  const std::int64_t k_rows = distinct_row_ids(codes, n, d, ids.data());
  return row_entropy_from_ids(ids.data(), k_rows, n, groupings, n_groups);
}

RowEntropy row_entropy_from_ids(const std::int32_t* ids, std::int64_t k_rows, std::int64_t n,
                                const std::vector<const std::int32_t*>& groupings,
                                const std::vector<std::int64_t>& n_groups) {
  RowEntropy result;
  if (n == 0) return result;
  result.n_distinct = k_rows;
  const double nd = static_cast<double>(n);
  const double ln_n = std::log(nd);

  std::vector<std::int64_t> counts(static_cast<std::size_t>(k_rows), 0);
  for (std::int64_t i = 0; i < n; ++i) ++counts[static_cast<std::size_t>(ids[i])];
  double s_rows = 0.0;
  for (std::int64_t c : counts) s_rows += sum_c_ln_c(c);
  result.h_rows = std::max(0.0, ln_n - s_rows / nd);

  // H(R|G) = (1/n) [sum_g n_g ln n_g - sum_{r,g} c_rg ln c_rg], from joint counts of (row, group).
  for (std::size_t k = 0; k < groupings.size(); ++k) {
    const std::int32_t* g = groupings[k];
    const std::int64_t n_g = n_groups[k];
    const auto rows_u = static_cast<std::uint64_t>(k_rows);
    if (static_cast<std::uint64_t>(n_g) > std::numeric_limits<std::uint64_t>::max() / rows_u) {
      throw std::invalid_argument("ibfast row_entropy: distinct rows x groups exceeds 2^64");
    }
    // Counting the groups checks every id on the way (a compare per id, no pass of its own): the
    // tables below are indexed by ids known to be in [0, n_g).
    std::vector<std::int64_t> group_counts(static_cast<std::size_t>(n_g), 0);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int32_t gi = g[i];
      if (gi < 0 || gi >= n_g) {
        throw std::invalid_argument("ibfast row_entropy: group id out of range: grouping " + std::to_string(k) +
                                    " has id " + std::to_string(gi) + " at row " + std::to_string(i) +
                                    ", n_groups " + std::to_string(n_g));
      }
      ++group_counts[static_cast<std::size_t>(gi)];
    }
    double s_groups = 0.0;
    for (std::int64_t c : group_counts) s_groups += sum_c_ln_c(c);

    double s_joint = 0.0;
    const auto joint_cells = rows_u * static_cast<std::uint64_t>(n_g);
    if (joint_cells <= 8 * static_cast<std::uint64_t>(n) + 1024) {
      // Few groups (labels): a dense joint table is cheapest.
      std::vector<std::int64_t> joint(joint_cells, 0);
      for (std::int64_t i = 0; i < n; ++i) {
        ++joint[static_cast<std::size_t>(ids[i]) * static_cast<std::size_t>(n_g) +
                static_cast<std::size_t>(g[i])];
      }
      for (std::int64_t c : joint) s_joint += sum_c_ln_c(c);
    } else {
      // Many groups (input ids): count runs of the sorted (row, group) keys.
      std::vector<std::uint64_t> keys(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) {
        keys[static_cast<std::size_t>(i)] =
            static_cast<std::uint64_t>(ids[i]) * static_cast<std::uint64_t>(n_g) +
            static_cast<std::uint64_t>(g[i]);
      }
      std::sort(keys.begin(), keys.end());
      std::size_t run = 1;
      for (std::size_t i = 1; i <= keys.size(); ++i) {
        if (i < keys.size() && keys[i] == keys[i - 1]) {
          ++run;
        } else {
          s_joint += sum_c_ln_c(static_cast<std::int64_t>(run));
          run = 1;
        }
      }
    }
    // Clamp the rounding residue: 0 <= H(R|G) <= H(R) holds exactly for plug-in entropies.
    result.h_given.push_back(std::clamp((s_groups - s_joint) / nd, 0.0, result.h_rows));
  }
  return result;
}

}  // namespace ibfast
