// What this build of the C++ kernels is.
#pragma once
#include <string>

namespace ibfast {

struct BuildInfo {
  std::string compiler;
  bool openmp = false;
  int max_threads = 1;
  bool native = false;
  std::string simd;  // the widest vector ISA the kernels were compiled for
};
BuildInfo build_info();

// Sets the number of threads the kernels use (OpenMP); values < 1 mean "all cores".
void set_num_threads(int n);

}  // namespace ibfast
