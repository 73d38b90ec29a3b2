#include <pybind11/stl.h>

#include "ibfast/build_info.hpp"
#include "ibfast/kde.hpp"
#include "registry.hpp"

namespace py = pybind11;

namespace ibfast::bindings {

void register_info(py::module_& m) {
  m.def("build_info", [] {
    const BuildInfo info = build_info();
    py::dict d;
    d["compiler"] = info.compiler;
    d["openmp"] = info.openmp;
    d["max_threads"] = info.max_threads;
    d["native"] = info.native;
    d["simd"] = info.simd;
    d["kde_skip_exponent"] = kSkipExponent;
    return d;
  });
  m.def("set_num_threads", &set_num_threads, py::arg("n"),
        "Threads for the kernels (OpenMP); n < 1 means all cores.");
}

}  // namespace ibfast::bindings
