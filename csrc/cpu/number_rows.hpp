// Numbering rows by their content, shared by the two-pass row entropy (distinct_rows.cpp) and
// the fused binned entropy (binned_entropy.cpp).
#pragma once
#include <cstdint>
#include <vector>

#include "ibfast/bits.hpp"

namespace ibfast::detail {

// ids[i] = the id of the first earlier row j with hashes[j] == hashes[i] and same(j, i), else a
// new id: ids in order of first appearance. Returns the number of ids; with ``first``, first[id]
// is the id's first row. Open addressing at load factor <= 1/2; the slot is mix64 of the hash, so
// that truncated hashes (tests that force collisions) spread as well as full ones.
template <class Same>
std::int32_t number_rows(const std::uint64_t* hashes, std::int64_t n, std::int32_t* ids, Same same,
                         std::vector<std::int32_t>* first = nullptr) {
  std::size_t capacity = 16;
  while (capacity < 2 * static_cast<std::size_t>(n)) capacity <<= 1;
  const std::size_t mask = capacity - 1;
  std::vector<std::int32_t> slots(capacity, -1);
  std::int32_t n_ids = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint64_t h = hashes[i];
    std::size_t s = static_cast<std::size_t>(bits::mix64(h)) & mask;
    while (true) {
      const std::int32_t r = slots[s];
      if (r < 0) {
        slots[s] = static_cast<std::int32_t>(i);
        ids[i] = n_ids++;
        if (first != nullptr) first->push_back(static_cast<std::int32_t>(i));
        break;
      }
      if (hashes[r] == h && same(static_cast<std::int64_t>(r), i)) {
        ids[i] = ids[r];
        break;
      }
      s = (s + 1) & mask;
    }
  }
  return n_ids;
}

}  // namespace ibfast::detail
