#include "ibfast/build_info.hpp"

#include "parallel.hpp"

namespace ibfast {

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
  omp_set_num_threads(n < 1 ? omp_get_num_procs() : n);
#else
  (void)n;
#endif
}

}  // namespace ibfast
