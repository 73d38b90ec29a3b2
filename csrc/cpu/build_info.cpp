#include "ibfast/build_info.hpp"

#include <atomic>

#include "parallel.hpp"

namespace ibfast {

namespace {
std::atomic<int> g_threads{0};  // 0: not set (OpenMP's default)
}  // namespace

int detail::thread_count() {
#ifdef IBFAST_HAVE_OPENMP
  const int n = g_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();
#else
  return 1;
#endif
}

BuildInfo build_info() {
  BuildInfo info;
  info.compiler = IBFAST_COMPILER;
#ifdef IBFAST_HAVE_OPENMP
  info.openmp = true;
#endif
  info.max_threads = detail::thread_count();
  info.native = IBFAST_NATIVE_BUILD != 0;
#if defined(__AVX512F__)
  info.simd = "avx512f";
#elif defined(__AVX2__)
  info.simd = "avx2";
#elif defined(__AVX__)
  info.simd = "avx";
#elif defined(__SSE2__)
  info.simd = "sse2";
#elif defined(__ARM_NEON)
  info.simd = "neon";
#else
  info.simd = "scalar";
#endif
  return info;
}

void set_num_threads(int n) {
#ifdef IBFAST_HAVE_OPENMP
  g_threads.store(n < 1 ? omp_get_num_procs() : n, std::memory_order_relaxed);
#else
  (void)n;
#endif
}

}  // namespace ibfast
