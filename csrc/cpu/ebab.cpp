#include "ibfast/ebab.hpp"

#include "ibfast/bits.hpp"

#include <algorithm>
#include <cstring>

namespace ibfast {

namespace {

inline std::uint32_t float_key(float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return bits::float_key(b);
}

inline float key_float(std::uint32_t key) {
  const std::uint32_t b = bits::key_float_bits(key);
  float v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

// LSD radix sort of 32-bit keys in four 8-bit passes (256 buckets keep the scatter in L1): a
// layer's N*d values (up to tens of millions) sort several times faster than with std::sort,
// which matters because EBAB sorts every layer at every recorded epoch. One read of the keys
// counts all four digits; a digit that is the same for every key (common in the high bits of a
// layer's values) is not scattered at all: its pass is skipped.
void radix_sort(std::vector<std::uint32_t>& keys) {
  constexpr int kBits = 8;
  constexpr int kPasses = 4;
  constexpr std::uint32_t kBuckets = 1u << kBits;
  constexpr std::uint32_t kMask = kBuckets - 1;
  std::vector<std::size_t> counts(kPasses * kBuckets, 0);
  for (std::uint32_t k : keys) {
    for (int pass = 0; pass < kPasses; ++pass) ++counts[pass * kBuckets + ((k >> (pass * kBits)) & kMask)];
  }
  std::vector<std::uint32_t> tmp(keys.size());
  for (int pass = 0; pass < kPasses; ++pass) {
    std::size_t* c = counts.data() + pass * kBuckets;
    const int shift = pass * kBits;
    if (!keys.empty() && c[(keys[0] >> shift) & kMask] == keys.size()) continue;  // one bucket
    std::size_t sum = 0;
    for (std::uint32_t b = 0; b < kBuckets; ++b) {
      const std::size_t c0 = c[b];
      c[b] = sum;
      sum += c0;
    }
    for (std::uint32_t k : keys) tmp[c[(k >> shift) & kMask]++] = k;
    keys.swap(tmp);
  }
}

}  // namespace

std::vector<float> sorted_distinct(const float* x, std::int64_t count) {
  std::vector<std::uint32_t> keys(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) keys[static_cast<std::size_t>(i)] = float_key(x[i]);
  radix_sort(keys);
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<float> out(keys.size());
  std::transform(keys.begin(), keys.end(), out.begin(), key_float);
  return out;
}

std::vector<double> ebab_edges(const float* x, std::int64_t count, std::int64_t n_bins,
                               bool has_lower, double lower) {
  std::vector<float> u = sorted_distinct(x, count);
  if (has_lower) {
    // Keep the values strictly above `lower`: lower is an edge of its own, values below it are
    // the underflow bin.
    const auto first = std::upper_bound(u.begin(), u.end(), lower,
                                        [](double l, float v) { return l < static_cast<double>(v); });
    u.erase(u.begin(), first);
  }
  std::vector<double> edges;
  edges.reserve(static_cast<std::size_t>(n_bins) + 2);
  if (has_lower) edges.push_back(lower);
  const auto n_distinct = static_cast<std::int64_t>(u.size());
  if (n_distinct == 0) return edges;
  for (std::int64_t k = 0; k < n_bins; ++k) {
    edges.push_back(static_cast<double>(u[static_cast<std::size_t>(k * n_distinct / n_bins)]));
  }
  edges.push_back(static_cast<double>(u.back()));
  return edges;
}

}  // namespace ibfast
