// Fused binned entropy (ibfast/binned_entropy.hpp): binning, row hashing and counting without an
// (n, d) code matrix.
//
// 1. In parallel, each row is binned 16 values at a time into a per-thread buffer that stays in
//    L1 (mostly one byte per code when n_edges <= 255, else int32) and hashed there. The
//    activations are read once; nothing of size n x d is written.
// 2. Serially, an open-addressing table over the n hashes gives each row the id of the first row
//    with its hash (ids in order of first appearance, as distinct_row_ids numbers them).
// 3. In parallel, every row that joined an earlier row's id is verified against that row: both
//    are binned again from x, 16 values at a time, skipping blocks whose floats are bitwise equal
//    (equal floats have equal codes). With a 64-bit hash nothing fails here in practice; if something
//    does (two different rows with one hash), step 2 is redone serially with every hash match
//    verified the same way, which is exact whatever the hash.
// The entropies then come from the ids exactly as row_entropy computes them.
// Rows narrower than 16 values with byte codes (the 12-bit task's layers) take narrow_row_ids
// instead: the matrix binned as one flat array into n * d bytes, rows hashed and compared there.
//
// Codes are those of bin_by_edges / bin_by_width: thresholds float_at_or_above(edge) compared in
// float (exact, see bits.hpp), floor(x / width) in double. Up to 32 edges: with AVX-512, a compare
// with the first threshold and a five-step branch-free binary search over the others through
// two-register permutes; with AVX2, a count of every fourth threshold and three compares with the
// bucket's others, looked up by 8-entry permutes (no memory gathers in either). Otherwise, and up
// to 64 edges, the thresholds <= each value are counted, as bin_by_edges does, in the machine's
// own vectors; beyond 64 edges, a scalar binary search.
#include "ibfast/binned_entropy.hpp"

#include "ibfast/bits.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#define IBFAST_SEARCH32 1  // a kSearch32 kernel for this machine
#endif

#include "ibfast/row_entropy_checks.hpp"
#include "number_rows.hpp"
#include "parallel.hpp"
#include "simd.hpp"

namespace ibfast {

namespace {

using simd::f16;
using simd::i16;
constexpr std::int64_t kL = simd::kLanes16;

enum class Method {
  kSearch32,  // <= 32 edges with AVX-512 or AVX2: searches through permute tables
  kCount,     // <= 64 edges: count the thresholds <= v
  kSearch,    // more edges: scalar binary search
  kWidth,     // floor(v / width)
};

constexpr std::int64_t kCountEdges = 64;
constexpr std::int64_t kPermuteEdges = 32;

struct Params {
  const float* t = nullptr;  // the thresholds, followed by NaN padding
  std::int64_t n_t = 0;
  double width = 1.0;
  float t0 = 0.0f;  // kSearch32 (AVX-512): t[0], and t[1..16], t[17..32] in two registers
  f16 lo{};
  f16 hi{};
  simd::f8 fine[3] = {};  // kSearch32 (AVX2): fine[i - 1][j] = t[4 j + i], i = 1, 2, 3
};

// The code of one value, exactly as bin_by_edges / bin_by_width.
template <Method M>
inline std::int32_t code_one(const Params& p, float v) {
  if constexpr (M == Method::kWidth) {
    return static_cast<std::int32_t>(std::floor(static_cast<double>(v) / p.width));
  } else {
    // Number of thresholds <= v, minus one (a NaN value compares false everywhere: -1).
    const float* base = p.t;
    std::int64_t len = p.n_t;
    if (len == 0) return -1;
    while (len > 1) {
      const std::int64_t half = len / 2;
      base = (base[half] <= v) ? base + half : base;
      len -= half;
    }
    return static_cast<std::int32_t>((base - p.t) + (*base <= v ? 1 : 0) - 1);
  }
}

#if defined(__AVX512F__)
// kSearch32 for B blocks of 16 values at once (independent chains keep the permute unit busy).
// The number of thresholds <= v is (t[0] <= v) + rest, rest = the number of t[1..32] <= v (t
// sorted: any t[j] <= v implies t[0] <= v). Five steps find rest in [0, 31] bit by bit from the
// top: step s looks up the table entry t[1 + rest + s - 1], the first (t[16]) by a broadcast,
// the others across the two registers by one permute, and adds s under the compare's mask; t[32]
// does not exist (at most 32 thresholds), so 31 is rest's maximum. NaN padding (and a NaN value)
// compares false: the search never counts past the real thresholds.
template <int B>
inline void search32(const Params& p, const float* x, i16* out) {
  const __m512 lo = reinterpret_cast<__m512>(p.lo);
  const __m512 hi = reinterpret_cast<__m512>(p.hi);
  __m512 v[B];
  __m512i rest[B];
  for (int b = 0; b < B; ++b) {
    v[b] = _mm512_loadu_ps(x + b * kL);
    rest[b] = _mm512_maskz_mov_epi32(_mm512_cmp_ps_mask(_mm512_set1_ps(p.t[16]), v[b], _CMP_LE_OQ),
                                     _mm512_set1_epi32(16));
  }
  for (int step = 8; step >= 1; step /= 2) {
    for (int b = 0; b < B; ++b) {
      const __m512 e = _mm512_permutex2var_ps(lo, _mm512_add_epi32(rest[b], _mm512_set1_epi32(step - 1)), hi);
      rest[b] = _mm512_mask_add_epi32(rest[b], _mm512_cmp_ps_mask(e, v[b], _CMP_LE_OQ), rest[b],
                                      _mm512_set1_epi32(step));
    }
  }
  for (int b = 0; b < B; ++b) {  // code = (t[0] <= v) + rest - 1
    const __m512i code = _mm512_mask_mov_epi32(_mm512_sub_epi32(rest[b], _mm512_set1_epi32(1)),
                                               _mm512_cmp_ps_mask(_mm512_set1_ps(p.t0), v[b], _CMP_LE_OQ), rest[b]);
    out[b] = reinterpret_cast<i16>(code);
  }
}
#elif defined(__AVX2__)
// kSearch32 for B blocks of 16 values (2B vectors of 8) with AVX2, whose permute looks up 8
// entries: two levels. q = the number of coarse thresholds t[0], t[4], ..., t[28] <= v, counted;
// then for g = max(q - 1, 0) the bucket's other thresholds t[4g + 1..3] are looked up by three
// permutes and compared. The number of thresholds <= v is 4g + (q > 0) + those compares (sorted:
// with q = 0 they all exceed v). NaN padding compares false. ~30 instructions per 8 values where
// counting takes 60.
template <int B>
inline void search32(const Params& p, const float* x, i16* out) {
  constexpr int kH = 2 * B;
  __m256 v[kH];
  __m256i q[kH];
  for (int h = 0; h < kH; ++h) {
    v[h] = _mm256_loadu_ps(x + h * 8);
    q[h] = _mm256_setzero_si256();
  }
  for (int j = 0; j < 8; ++j) {
    const __m256 e = _mm256_set1_ps(p.t[4 * j]);
    for (int h = 0; h < kH; ++h) {
      q[h] = _mm256_sub_epi32(q[h], _mm256_castps_si256(_mm256_cmp_ps(e, v[h], _CMP_LE_OQ)));  // true: -1
    }
  }
  const __m256i one = _mm256_set1_epi32(1);
  __m256i code[kH];
  for (int h = 0; h < kH; ++h) {
    const __m256i g = _mm256_max_epi32(_mm256_sub_epi32(q[h], one), _mm256_setzero_si256());
    __m256i count = _mm256_add_epi32(_mm256_slli_epi32(g, 2), _mm256_min_epi32(q[h], one));
    for (int i = 0; i < 3; ++i) {
      const __m256 f = _mm256_permutevar8x32_ps(reinterpret_cast<__m256>(p.fine[i]), g);
      count = _mm256_sub_epi32(count, _mm256_castps_si256(_mm256_cmp_ps(f, v[h], _CMP_LE_OQ)));
    }
    code[h] = _mm256_sub_epi32(count, one);
  }
  std::memcpy(out, code, sizeof code);
}
#endif

// Counting for B blocks of 16 values at once, in the machine's own vectors (compares of wider
// ones would be expanded lane by lane): code = (number of thresholds <= v) - 1, as bin_by_edges
// counts. The B * 16 / lanes accumulators are independent chains.
template <int B>
inline void count_codes(const Params& p, const float* x, i16* out) {
  constexpr int kW = simd::kNativeLanes;
  constexpr int kH = B * kL / kW;
  simd::fn v[kH];
  simd::in c[kH];
  for (int h = 0; h < kH; ++h) {
    std::memcpy(&v[h], x + h * kW, sizeof v[h]);
    c[h] = simd::in{} - 1;
  }
  for (std::int64_t k = 0; k < p.n_t; ++k) {
    const simd::fn e = simd::fn{} + p.t[k];
    for (int h = 0; h < kH; ++h) c[h] -= (v[h] >= e);  // a true lane is -1
  }
  std::memcpy(out, c, sizeof c);
}

// floor(v / width) for 16 values, exactly as bin_by_width: the same IEEE double division (in the
// machine's double vectors: the compiler keeps the scalar loop scalar, since the int conversion
// might trap), then floor = truncation - 1 where the truncation lies above the quotient, which is
// exact for |v / width| < 2^31 - 1 (the caller's guarantee).
inline void width_codes16(const Params& p, const float* x, std::int32_t* out) {
#if IBFAST_NATIVE_VECTOR_BYTES >= 32
  constexpr int kD = IBFAST_NATIVE_VECTOR_BYTES / 8;  // doubles per vector
  using dn = double __attribute__((vector_size(IBFAST_NATIVE_VECTOR_BYTES)));
  using ln = std::int64_t __attribute__((vector_size(IBFAST_NATIVE_VECTOR_BYTES)));
  using fh = float __attribute__((vector_size(IBFAST_NATIVE_VECTOR_BYTES / 2)));
  using ih = std::int32_t __attribute__((vector_size(IBFAST_NATIVE_VECTOR_BYTES / 2)));
  for (int h = 0; h < kL / kD; ++h) {
    fh v;
    std::memcpy(&v, x + h * kD, sizeof v);
    const dn q = __builtin_convertvector(v, dn) / p.width;
    ih t = __builtin_convertvector(q, ih);
    const ln above = __builtin_convertvector(t, dn) > q;  // -1 where the truncation is above q
    t += __builtin_convertvector(above, ih);
    std::memcpy(out + h * kD, &t, sizeof t);
  }
#else
  for (int l = 0; l < kL; ++l) out[l] = static_cast<std::int32_t>(std::floor(static_cast<double>(x[l]) / p.width));
#endif
}

// The codes of 16 consecutive values.
template <Method M>
inline i16 codes16(const Params& p, const float* x) {
  i16 c;
  if constexpr (M == Method::kSearch32) {
#if defined(IBFAST_SEARCH32)
    search32<1>(p, x, &c);
#else
    count_codes<1>(p, x, &c);
#endif
  } else if constexpr (M == Method::kCount) {
    count_codes<1>(p, x, &c);
  } else if constexpr (M == Method::kWidth) {
    std::int32_t lanes[kL];
    width_codes16(p, x, lanes);
    std::memcpy(&c, lanes, sizeof c);
  } else {
    std::int32_t lanes[kL];
    for (int l = 0; l < kL; ++l) lanes[l] = code_one<M>(p, x[l]);
    std::memcpy(&c, lanes, sizeof c);
  }
  return c;
}

// The codes of 64 consecutive values, as four blocks.
template <Method M>
inline void codes64(const Params& p, const float* x, i16 (&c)[4]) {
  if constexpr (M == Method::kSearch32) {
#if defined(IBFAST_SEARCH32)
    search32<4>(p, x, c);
#else
    count_codes<4>(p, x, c);
#endif
  } else if constexpr (M == Method::kCount) {
    count_codes<4>(p, x, c);
  } else {
    for (int b = 0; b < 4; ++b) c[b] = codes16<M>(p, x + b * kL);
  }
}

// The codes of the last count < 16 values of a row, as a block padded with the codes of zeros.
template <Method M>
inline i16 codes_tail(const Params& p, const float* x, std::int64_t count) {
  float buf[kL] = {};
  std::memcpy(buf, x, static_cast<std::size_t>(count) * sizeof(float));
  return codes16<M>(p, buf);
}

// Bytes bin_row writes for a row of d codes.
inline std::size_t packed_bytes(std::int64_t d, bool compact) {
  const auto du = static_cast<std::size_t>(d);
  if (!compact) return du * 4;
  return du / (4 * kL) * 64 + du % (4 * kL) / kL * 64 + du % kL;
}

// Bins a row into out, packed_bytes(d, compact) bytes: a fixed injective encoding of the row's
// codes (all a hash needs). Not compact: the int32 codes. Compact (codes in [-1, 254], whose low
// bytes differ: -1 gives 255): each four blocks of 16 codes as one 64-byte word array, block j in
// byte j of every 32-bit word (shifts and ORs, vectorised at the machine's width, rather than
// narrowing stores, which are microcoded on some AVX-512 CPUs); then the last 1-3 blocks as int32
// and the last d % 16 codes as bytes.
template <Method M>
void bin_row(const Params& p, const float* x, std::int64_t d, bool compact, unsigned char* out) {
  std::int64_t k = 0;
  if (compact) {
    for (; k + 4 * kL <= d; k += 4 * kL, out += 64) {
      i16 c[4];
      codes64<M>(p, x + k, c);
      std::int32_t lanes[4][kL];
      std::memcpy(lanes, c, sizeof lanes);
      std::uint32_t w[kL];
      for (int j = 0; j < kL; ++j) {
        w[j] = (static_cast<std::uint32_t>(lanes[0][j]) & 0xffu) |
               (static_cast<std::uint32_t>(lanes[1][j]) & 0xffu) << 8 |
               (static_cast<std::uint32_t>(lanes[2][j]) & 0xffu) << 16 | static_cast<std::uint32_t>(lanes[3][j]) << 24;
      }
      std::memcpy(out, w, sizeof w);
    }
    for (; k + kL <= d; k += kL, out += 64) {
      const i16 c = codes16<M>(p, x + k);
      std::memcpy(out, &c, sizeof c);
    }
    if (k < d) {
      const i16 c = codes_tail<M>(p, x + k, d - k);
      std::int32_t lanes[kL];
      std::memcpy(lanes, &c, sizeof lanes);
      for (int l = 0; k < d; ++k, ++l) *out++ = static_cast<unsigned char>(lanes[l]);
    }
  } else {
    for (; k + kL <= d; k += kL) {
      const i16 c = codes16<M>(p, x + k);
      std::memcpy(out + k * 4, &c, sizeof c);
    }
    if (k < d) {
      const i16 c = codes_tail<M>(p, x + k, d - k);
      std::memcpy(out + k * 4, &c, static_cast<std::size_t>(d - k) * 4);
    }
  }
}

// Whether rows a and b of length d have the same codes. Blocks of equal floats are skipped.
template <Method M>
bool rows_equal(const Params& p, const float* a, const float* b, std::int64_t d) {
  // Bitwise compares only (memcmp): -0.0 against 0.0 just takes the binning.
  std::int64_t k = 0;
  for (; k + kL <= d; k += kL) {
    if (std::memcmp(a + k, b + k, kL * sizeof(float)) == 0) continue;
    const i16 ca = codes16<M>(p, a + k);
    const i16 cb = codes16<M>(p, b + k);
    if (std::memcmp(&ca, &cb, sizeof ca) != 0) return false;
  }
  if (k < d && std::memcmp(a + k, b + k, static_cast<std::size_t>(d - k) * sizeof(float)) != 0) {
    const i16 ca = codes_tail<M>(p, a + k, d - k);  // the zero padding has equal codes
    const i16 cb = codes_tail<M>(p, b + k, d - k);
    return std::memcmp(&ca, &cb, sizeof ca) == 0;
  }
  return true;
}

// A 64-bit hash of a row's packed codes, zero-padded to whole 32-byte blocks: four independent
// multiply-xorshift chains over 64-bit words (so the multiplies overlap), each step a bijection of
// the chain's state, then the splitmix64 finaliser over the chains. Only speed depends on its
// quality: every match is verified.
inline std::uint64_t hash_blocks(const unsigned char* p, std::size_t blocks, std::uint64_t seed) {
  constexpr std::uint64_t kMul = 0x9e3779b97f4a7c15ULL;
  std::uint64_t h[4] = {seed, seed ^ 0x243f6a8885a308d3ULL, seed ^ 0x13198a2e03707344ULL,
                        seed ^ 0xa4093822299f31d0ULL};
  for (std::size_t blk = 0; blk < blocks; ++blk) {
    for (int j = 0; j < 4; ++j) {
      std::uint64_t w;
      std::memcpy(&w, p + blk * 32 + static_cast<std::size_t>(j) * 8, sizeof w);
      h[j] = (h[j] ^ w) * kMul;
      h[j] ^= h[j] >> 32;
    }
  }
  std::uint64_t r = bits::mix64(h[0]);
  r = bits::mix64(r ^ h[1]);
  r = bits::mix64(r ^ h[2]);
  return bits::mix64(r ^ h[3]);
}

// binned_row_ids for rows narrower than one block (d < 16) with byte codes: binned row by row,
// each row would cost a padded block of 16 values (a copy, a store-forwarding stall) and a byte
// loop. Instead the matrix is binned as one flat array, 16 values a block whatever the rows, into
// n * d bytes (at most 15 bytes a row: no more than the activations' own size / 4), and rows are
// hashed and compared from those bytes: the same bytes bin_row packs for such a row, so the same
// hashes and ids.
template <Method M>
std::int64_t narrow_row_ids(const Params& p, const float* x, std::int64_t n, std::int64_t d,
                            std::uint64_t hash_mask, std::int32_t* ids) {
  const std::int64_t total = n * d;
  const std::int64_t n_blocks = (total + kL - 1) / kL;
  std::vector<unsigned char> codes(static_cast<std::size_t>(n_blocks * kL + kL), 0);  // + a row's overread
  const bool parallel = total >= detail::kParallelMinWork;
#pragma omp parallel for num_threads(detail::thread_count()) schedule(static) if (parallel)
  for (std::int64_t b = 0; b < n_blocks; ++b) {
    const std::int64_t at = b * kL;
    const i16 c = at + kL <= total ? codes16<M>(p, x + at) : codes_tail<M>(p, x + at, total - at);
    const simd::u8x16 bytes = __builtin_convertvector(c, simd::u8x16);  // -1 -> 255, as bin_row
    std::memcpy(codes.data() + at, &bytes, sizeof bytes);
  }
  // A row's d bytes as a zero-padded 16-byte word: two 8-byte loads masked to d bytes.
  const std::uint64_t lo_mask = d >= 8 ? ~0ULL : (1ULL << (8 * d)) - 1;
  const std::uint64_t hi_mask = d <= 8 ? 0ULL : (1ULL << (8 * (d - 8))) - 1;
  const auto word = [&](std::int64_t i, std::uint64_t w[2]) {
    std::memcpy(w, codes.data() + i * d, 16);
    w[0] &= lo_mask;
    w[1] &= hi_mask;
  };
  const std::uint64_t seed = 0x9e3779b97f4a7c15ULL ^ static_cast<std::uint64_t>(d);
  std::vector<std::uint64_t> hashes(static_cast<std::size_t>(n));
#pragma omp parallel for num_threads(detail::thread_count()) schedule(static) if (parallel)
  for (std::int64_t i = 0; i < n; ++i) {
    unsigned char block[32] = {};
    std::uint64_t w[2];
    word(i, w);
    std::memcpy(block, w, sizeof w);
    hashes[static_cast<std::size_t>(i)] = hash_blocks(block, 1, seed) & hash_mask;
  }
  return detail::number_rows(hashes.data(), n, ids, [&](std::int64_t r, std::int64_t i) {
    std::uint64_t a[2];
    std::uint64_t b[2];
    word(r, a);
    word(i, b);
    return a[0] == b[0] && a[1] == b[1];
  });
}

// Distinct-row ids of the binned rows of x (in order of first appearance); returns their number.
template <Method M>
std::int64_t binned_row_ids(const Params& p, const float* x, std::int64_t n, std::int64_t d, bool compact,
                            std::uint64_t hash_mask, std::int32_t* ids) {
  if (compact && d < kL) return narrow_row_ids<M>(p, x, n, d, hash_mask, ids);
  const auto nn = static_cast<std::size_t>(n);
  const std::size_t row_bytes = packed_bytes(d, compact);
  const std::size_t blocks = (row_bytes + 31) / 32;
  const std::uint64_t seed = 0x9e3779b97f4a7c15ULL ^ static_cast<std::uint64_t>(d);
  const bool parallel = n * d >= detail::kParallelMinWork;
  // Rows per dynamic chunk: ~64K values, so a busy core (training beside estimation) holds back
  // little work.
  const std::int64_t chunk = std::max<std::int64_t>(1, 65536 / std::max<std::int64_t>(d, 1));

  // 1. Bin and hash every row.
  std::vector<std::uint64_t> hashes(nn);
#pragma omp parallel num_threads(detail::thread_count()) if (parallel)
  {
    std::vector<unsigned char> buf(blocks * 32, 0);  // the padding past row_bytes stays zero
#pragma omp for schedule(dynamic, chunk)
    for (std::int64_t i = 0; i < n; ++i) {
      bin_row<M>(p, x + i * d, d, compact, buf.data());
      hashes[static_cast<std::size_t>(i)] = hash_blocks(buf.data(), blocks, seed) & hash_mask;
    }
  }

  // 2. Group by hash: ids in order of first appearance; first[id] = the id's first row.
  std::vector<std::int32_t> first;
  first.reserve(nn);
  detail::number_rows(hashes.data(), n, ids, [](std::int64_t, std::int64_t) { return true; }, &first);

  // 3. Verify every row against its id's first row (none to verify when all rows are distinct:
  // no parallel region, whose wake-up and barrier cost most on a busy machine).
  const auto n_joined = n - static_cast<std::int64_t>(first.size());
  if (n_joined == 0) return n;
  int collision = 0;
#pragma omp parallel for num_threads(detail::thread_count()) schedule(dynamic, chunk) reduction(| : collision) \
    if (n_joined * d >= detail::kParallelMinWork)
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t r = first[static_cast<std::size_t>(ids[i])];
    if (r != i && !rows_equal<M>(p, x + i * d, x + r * d, d)) collision |= 1;
  }
  if (collision == 0) return static_cast<std::int64_t>(first.size());

  // Two different rows share a hash: group again, verifying every hash match.
  return detail::number_rows(hashes.data(), n, ids, [&](std::int64_t r, std::int64_t i) {
    return rows_equal<M>(p, x + r * d, x + i * d, d);
  });
}

}  // namespace

RowEntropy binned_row_entropy(const float* x, std::int64_t n, std::int64_t d, const BinSpec& bins,
                              const std::vector<const std::int32_t*>& groupings,
                              const std::vector<std::int64_t>& n_groups, int hash_bits) {
  check_binned_row_entropy_args("ibfast", n, d, bins, groupings, n_groups, hash_bits);
  if (n == 0) return RowEntropy{};

  Params p;
  std::vector<float> thresholds;
  Method method = Method::kWidth;
  bool compact = false;
  if (bins.by_width) {
    p.width = bins.width;
  } else {
    // Padded so that t[0..32] can be read: 1 + 2 * 16 entries for kSearch32.
    thresholds.assign(static_cast<std::size_t>(std::max(bins.n_edges, kPermuteEdges + 1)),
                      std::numeric_limits<float>::quiet_NaN());
    for (std::int64_t k = 0; k < bins.n_edges; ++k) {
      thresholds[static_cast<std::size_t>(k)] = bits::float_at_or_above(bins.edges[k]);
    }
    p.t = thresholds.data();
    p.n_t = bins.n_edges;
    p.t0 = p.t[0];
    std::memcpy(&p.lo, p.t + 1, sizeof p.lo);
    std::memcpy(&p.hi, p.t + 1 + kL, sizeof p.hi);
    compact = bins.n_edges <= 255;  // codes -1 .. 254: distinct low bytes
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 8; ++j) p.fine[i][j] = p.t[4 * j + i + 1];
    }
#if defined(IBFAST_SEARCH32)
    method = bins.n_edges <= kPermuteEdges ? Method::kSearch32
             : bins.n_edges <= kCountEdges ? Method::kCount
                                           : Method::kSearch;
#else
    method = bins.n_edges <= kCountEdges ? Method::kCount : Method::kSearch;
#endif
  }

  const std::uint64_t hash_mask = hash_bits == 64 ? ~0ULL : (1ULL << hash_bits) - 1;
  std::vector<std::int32_t> ids(static_cast<std::size_t>(n));
  std::int64_t k_rows = 0;
  switch (method) {
    case Method::kSearch32:
      k_rows = binned_row_ids<Method::kSearch32>(p, x, n, d, compact, hash_mask, ids.data());
      break;
    case Method::kCount:
      k_rows = binned_row_ids<Method::kCount>(p, x, n, d, compact, hash_mask, ids.data());
      break;
    case Method::kSearch:
      k_rows = binned_row_ids<Method::kSearch>(p, x, n, d, compact, hash_mask, ids.data());
      break;
    case Method::kWidth:
      k_rows = binned_row_ids<Method::kWidth>(p, x, n, d, compact, hash_mask, ids.data());
      break;
  }
  return row_entropy_from_ids(ids.data(), k_rows, n, groupings, n_groups);
}

}  // namespace ibfast
