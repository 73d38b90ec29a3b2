// Shared by the .cu files: error checks, the stream cast, stream-ordered scratch memory.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "ibfast/cuda.hpp"

namespace ibfast::cuda::detail {

// Throws for a failed CUDA call: OutOfMemory for cudaErrorMemoryAllocation (every device
// allocation, Scratch and so CUB's temporary storage too, comes through here), else
// std::runtime_error.
inline void check(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  // The runtime also keeps err as this thread's last error. Clear it (sticky errors stay), or the
  // next check_launch, e.g. in a retry after freeing memory, would report it again.
  cudaGetLastError();
  std::string message = std::string("ibfast CUDA: ") + what + ": " + cudaGetErrorString(err);
  if (err == cudaErrorMemoryAllocation) throw OutOfMemory(message);
  throw std::runtime_error(message);
}

// Checks the launch just made (bad configuration, no kernel image for this GPU).
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

inline cudaStream_t as_stream(Stream s) { return reinterpret_cast<cudaStream_t>(s); }

// Once per device: let the stream-ordered pool keep freed scratch cached (device.cu).
void keep_pool_memory(cudaStream_t stream);

inline unsigned blocks_for(long long work, unsigned threads, unsigned cap = 65535u * 8u) {
  long long b = (work + threads - 1) / threads;
  if (b < 1) b = 1;
  return static_cast<unsigned>(b > cap ? cap : b);
}

// Scratch memory from the stream-ordered allocator, freed on the same stream when it goes out
// of scope (also when an exception unwinds).
template <typename T>
class Scratch {
 public:
  Scratch(std::size_t count, cudaStream_t stream) : stream_(stream), count_(count) {
    keep_pool_memory(stream_);
    if (count_ > 0) check(cudaMallocAsync(reinterpret_cast<void**>(&ptr_), count_ * sizeof(T), stream_), "cudaMallocAsync");
  }
  ~Scratch() {
    if (ptr_ != nullptr) cudaFreeAsync(ptr_, stream_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* get() const { return ptr_; }
  std::size_t size() const { return count_; }

 private:
  cudaStream_t stream_;
  std::size_t count_;
  T* ptr_ = nullptr;
};

// Runs a CUB device algorithm: the first call asks for the temporary storage size. At least one
// byte is allocated, since a null pointer would turn the second call into another size query.
template <typename Call>
void cub_call(cudaStream_t stream, const char* what, Call&& call) {
  std::size_t bytes = 0;
  check(call(nullptr, bytes), what);
  Scratch<unsigned char> temp(std::max<std::size_t>(bytes, 1), stream);
  check(call(static_cast<void*>(temp.get()), bytes), what);
}

}  // namespace ibfast::cuda::detail
