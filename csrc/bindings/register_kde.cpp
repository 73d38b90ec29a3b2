#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>

#include "ibfast/kde.hpp"
#include "registry.hpp"

namespace py = pybind11;

namespace ibfast::bindings {

void register_kde(py::module_& m) {
  m.def(
      "kde_log_sum_exp",
      [](const carray<float>& x, double alpha, std::optional<carray<std::int32_t>> groups) {
        const auto n = static_cast<std::int64_t>(x.shape(0));
        const auto d = static_cast<std::int64_t>(x.shape(1));
        carray<double> lse_all(n);
        std::optional<carray<double>> lse_within;
        const std::int32_t* pg = nullptr;
        double* pw = nullptr;
        if (groups) {
          lse_within.emplace(n);
          pg = groups->data();
          pw = lse_within->mutable_data();
        }
        const float* px = x.data();
        double* pa = lse_all.mutable_data();
        {
          py::gil_scoped_release release;  // O(n^2 d) loop over buffers this call holds
          kde_log_sum_exp(px, n, d, alpha, pg, pa, pw);
        }
        py::object within = py::none();
        if (lse_within) within = *lse_within;
        return py::tuple(py::make_tuple(lse_all, within));
      },
      py::arg("x").noconvert(), py::arg("alpha"), py::arg("groups").noconvert() = py::none(),
      "Per row: ln sum_j exp(-alpha ||x_i - x_j||^2) over all rows, and over the row's group.");
}

}  // namespace ibfast::bindings
