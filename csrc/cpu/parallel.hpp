// OpenMP helpers that compile to serial code where OpenMP is absent.
#pragma once
#ifdef IBFAST_HAVE_OPENMP
#include <omp.h>
#endif

namespace ibfast::detail {

inline int thread_count() {
#ifdef IBFAST_HAVE_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace ibfast::detail
