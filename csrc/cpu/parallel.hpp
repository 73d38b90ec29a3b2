// OpenMP helpers that compile to serial code where OpenMP is absent.
#pragma once
#ifdef IBFAST_HAVE_OPENMP
#include <omp.h>
#endif

namespace ibfast::detail {

// Below this many elements of work a loop runs serially: waking an OpenMP team costs tens of
// microseconds, and milliseconds when the cores are busy (training beside estimation), which
// swamps a small layer's binning or hashing.
constexpr long long kParallelMinWork = 1LL << 18;

inline int thread_count() {
#ifdef IBFAST_HAVE_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace ibfast::detail
