#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>
#include <vector>

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

  m.def(
      "kde_log_sum_exp_multi",
      [](const carray<float>& x, const std::vector<double>& alphas, std::optional<carray<std::int32_t>> groups,
         bool symmetric) {
        const auto n = static_cast<std::int64_t>(x.shape(0));
        const auto d = static_cast<std::int64_t>(x.shape(1));
        const auto n_alpha = static_cast<std::int64_t>(alphas.size());
        std::vector<carray<double>> all;
        std::vector<carray<double>> within;
        std::vector<double*> pa;
        std::vector<double*> pw;
        for (std::int64_t a = 0; a < n_alpha; ++a) {
          all.emplace_back(n);
          pa.push_back(all.back().mutable_data());
          if (groups) {
            within.emplace_back(n);
            pw.push_back(within.back().mutable_data());
          }
        }
        const float* px = x.data();
        const std::int32_t* pg = groups ? groups->data() : nullptr;
        {
          py::gil_scoped_release release;  // O(n^2 d) loop over buffers this call holds
          kde_log_sum_exp_multi(px, n, d, alphas.data(), n_alpha, pg, pa.data(), groups ? pw.data() : nullptr,
                                symmetric ? KdeSymmetry::kSymmetric : KdeSymmetry::kPlain);
        }
        py::list out;
        for (std::int64_t a = 0; a < n_alpha; ++a) {
          py::object w = py::none();
          if (groups) w = within[static_cast<std::size_t>(a)];
          out.append(py::make_tuple(all[static_cast<std::size_t>(a)], w));
        }
        return out;
      },
      py::arg("x").noconvert(), py::arg("alphas"), py::arg("groups").noconvert() = py::none(),
      py::arg("symmetric") = true,
      "kde_log_sum_exp for several alphas from one distance computation: one (all, within) pair per "
      "alpha, each bit for bit the single-alpha result. symmetric=False visits every ordered pair "
      "(same bits, for comparison).");
}

}  // namespace ibfast::bindings
