// One-pass scans of an activation matrix for the Python layer's checks and ranges: parallel and
// vectorised, with no temporary array (numpy's isfinite / min / max each allocate or make a pass
// of their own on one core).
#pragma once
#include <cstdint>

namespace ibfast {

// The number of NaN and +-inf values among x[0 .. count).
std::int64_t count_nonfinite(const float* x, std::int64_t count);

// The least and the greatest of count >= 1 values free of NaN (the caller checks). Which zero is
// returned when the extreme is a zero may differ from numpy (-0.0 == 0.0).
struct MinMax {
  float lo = 0.0f;
  float hi = 0.0f;
};
MinMax min_max(const float* x, std::int64_t count);

}  // namespace ibfast
