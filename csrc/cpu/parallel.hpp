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

// The kernels' thread count, process-wide: every parallel region passes it as num_threads.
// omp_set_num_threads alone sets an ICV of the calling thread only, so a setting made in the main
// thread did not hold in the experiment's estimation thread (or any other). Before any
// set_num_threads: OpenMP's default (OMP_NUM_THREADS, else the cores).
int thread_count();

}  // namespace ibfast::detail
