// The CUDA kernels' plain C++ API: device pointers in, no CUDA types in this header.
// A stream is a cudaStream_t passed as an integer (0 = the legacy default stream), so the Python
// layer can hand over torch.cuda.current_stream().cuda_stream. Every function enqueues its work on
// that stream; the ones that return host values synchronise it. Errors throw std::runtime_error
// with the CUDA error string; running out of device memory throws OutOfMemory, derived from it.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "ibfast/binned_entropy.hpp"
#include "ibfast/distinct_rows.hpp"

namespace ibfast::cuda {

using Stream = std::uintptr_t;

// A CUDA call failed with cudaErrorMemoryAllocation (device scratch from the stream-ordered pool,
// CUB temporary storage included). A type of its own, so that callers can free memory (torch's
// cache) and retry without matching error text; Python sees ibfast._cuda.OutOfMemoryError, a
// MemoryError.
class OutOfMemory : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Devices visible to the CUDA runtime; 0 (never an exception) without a driver or a device.
int device_count();

// Why device_count() returned 0 (the CUDA runtime's message), or "" when it did not fail.
std::string device_error();

// Highest bytes of scratch the kernels held at once (the stream-ordered pool of the current
// device) since the last reset; reset=true starts a new measurement. For memory benchmarks.
std::uint64_t scratch_peak_bytes(bool reset);

// Most edges bin_by_edges takes on the GPU (they travel as a kernel argument).
constexpr std::int64_t kMaxEdges = 512;

// As ibfast::bin_by_edges / bin_by_width, for count floats at x (device) into codes (device).
// edges is a host array, sorted ascending, n_edges <= kMaxEdges.
void bin_by_edges(const float* x, std::int64_t count, const double* edges, std::int64_t n_edges,
                  std::int32_t* codes, Stream stream);
void bin_by_width(const float* x, std::int64_t count, double width, std::int32_t* codes,
                  Stream stream);

// As ibfast::ebab_edges for count floats at x (device). Returns host edges; synchronises.
std::vector<double> ebab_edges(const float* x, std::int64_t count, std::int64_t n_bins,
                               bool has_lower, double lower, Stream stream);

// As ibfast::row_entropy for an (n, d) int32 matrix at codes (device); each grouping is a device
// array of n ids in [0, n_groups[k]). Exact: rows are grouped by a 64-bit hash and the grouping is
// verified on the device; should two different rows ever share a hash, the result is computed
// exactly on the host instead. Returns host values; synchronises.
RowEntropy row_entropy(const std::int32_t* codes, std::int64_t n, std::int64_t d,
                       const std::vector<const std::int32_t*>& groupings,
                       const std::vector<std::int64_t>& n_groups, Stream stream);

// As ibfast::binned_row_entropy (the numbers of row_entropy of the codes of bin_by_edges or
// bin_by_width) for an (n, d) float matrix at x (device), without an (n, d) code matrix: the
// hashing and the verification of equal-hash neighbours bin the values where they read them, with
// the same hash as row_entropy's, so both sort the rows alike and give bit-identical numbers. On a
// collision (or with hash_bits < 64, which truncates the hashes to force collisions in tests) the
// codes are built after all and row_entropy computes the exact result. bins.edges is a host array
// of at most kMaxEdges edges. Returns host values; synchronises.
RowEntropy binned_row_entropy(const float* x, std::int64_t n, std::int64_t d, const BinSpec& bins,
                              const std::vector<const std::int32_t*>& groupings,
                              const std::vector<std::int64_t>& n_groups, Stream stream, int hash_bits = 64);

// One KDE log-sum-exp problem (see ibfast::kde_log_sum_exp_alphas): x (n, d) row-major float32 on
// the device, one or more alphas (every one from the same distances, in one pass), optional group
// ids (device, int32, values >= 0), outputs float64 on the device: out_all[a] for alphas[a], and
// out_within[a] when groups is given and out_within is not empty (then one per alpha).
struct KdeItem {
  const float* x = nullptr;
  std::int64_t n = 0;
  std::int64_t d = 0;
  std::vector<double> alphas;
  const std::int32_t* groups = nullptr;
  std::vector<double*> out_all;
  std::vector<double*> out_within;
};

// Many problems in one launch sequence (layers, epochs, seeds), so that small matrices (a
// 4096 x 10 layer is microseconds of work) fill the GPU together.
void kde_log_sum_exp(const std::vector<KdeItem>& items, Stream stream);

}  // namespace ibfast::cuda
