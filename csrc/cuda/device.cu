#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "common.cuh"

namespace ibfast::cuda {

namespace {

// Why the runtime sees no device (no driver, a driver older than this CUDA runtime needs, ...).
std::string last_device_error;  // written once by device_count's failure path, read by Python

}  // namespace

int device_count() {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    last_device_error = cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error
    return 0;
  }
  return n;
}

std::string device_error() { return last_device_error; }

namespace detail {

void keep_pool_memory(cudaStream_t) {
  // The default pool returns freed memory to the OS at every synchronisation (release
  // threshold 0), so every call would map its scratch afresh; keeping up to kRetainedBytes
  // cached makes repeated calls (every layer of every epoch) reuse it.
  constexpr std::uint64_t kRetainedBytes = 256ull << 20;
  static std::array<std::atomic<bool>, 64> done{};
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= 64) {
    cudaGetLastError();
    return;
  }
  if (done[static_cast<std::size_t>(device)].exchange(true)) return;
  cudaMemPool_t pool;
  if (cudaDeviceGetDefaultMemPool(&pool, device) == cudaSuccess) {
    std::uint64_t threshold = kRetainedBytes;
    cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold);
  }
  cudaGetLastError();
}

}  // namespace detail

std::uint64_t scratch_peak_bytes(bool reset) {
  int device = 0;
  detail::check(cudaGetDevice(&device), "cudaGetDevice");
  cudaMemPool_t pool;
  detail::check(cudaDeviceGetDefaultMemPool(&pool, device), "cudaDeviceGetDefaultMemPool");
  std::uint64_t high = 0;
  detail::check(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &high), "cudaMemPoolGetAttribute");
  if (reset) {
    std::uint64_t zero = 0;
    detail::check(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &zero), "cudaMemPoolSetAttribute");
  }
  return high;
}

}  // namespace ibfast::cuda
