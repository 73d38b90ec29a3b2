#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>
#include <stdexcept>
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
      "kde_log_sum_exp_alphas",
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
          kde_log_sum_exp_alphas(px, n, d, alphas.data(), n_alpha, pg, pa.data(), groups ? pw.data() : nullptr,
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

  m.def(
      "kde_log_sum_exp_many",
      [](const std::vector<carray<float>>& xs, const std::vector<std::vector<double>>& alphas,
         const std::vector<std::optional<carray<std::int32_t>>>& groups, bool symmetric) {
        if (alphas.size() != xs.size() || groups.size() != xs.size()) {
          throw std::invalid_argument("kde_log_sum_exp_many: one alpha list and one grouping per matrix");
        }
        const std::size_t count = xs.size();
        // Outputs and the pointer tables the problems point into, all sized before any pointer is taken.
        std::vector<std::vector<carray<double>>> all(count);
        std::vector<std::vector<carray<double>>> within(count);
        std::vector<std::vector<double*>> pa(count);
        std::vector<std::vector<double*>> pw(count);
        std::vector<KdeProblem> problems(count);
        for (std::size_t p = 0; p < count; ++p) {
          const carray<float>& x = xs[p];
          if (x.ndim() != 2) throw std::invalid_argument("kde_log_sum_exp_many: every x must be 2-D");
          const auto n = static_cast<std::int64_t>(x.shape(0));
          const bool has_groups = groups[p].has_value();
          if (has_groups && static_cast<std::int64_t>(groups[p]->size()) != n) {
            throw std::invalid_argument("kde_log_sum_exp_many: groups must have one entry per row");
          }
          for (std::size_t a = 0; a < alphas[p].size(); ++a) {
            all[p].emplace_back(n);
            pa[p].push_back(all[p].back().mutable_data());
            if (has_groups) {
              within[p].emplace_back(n);
              pw[p].push_back(within[p].back().mutable_data());
            }
          }
          KdeProblem& pr = problems[p];
          pr.x = x.data();
          pr.n = n;
          pr.d = static_cast<std::int64_t>(x.shape(1));
          pr.groups = has_groups ? groups[p]->data() : nullptr;
          pr.alphas = alphas[p].data();
          pr.n_alpha = static_cast<std::int64_t>(alphas[p].size());
          pr.out_all = pa[p].data();
          pr.out_within = has_groups ? pw[p].data() : nullptr;
        }
        {
          py::gil_scoped_release release;  // O(n^2 d) per matrix over buffers this call holds
          kde_log_sum_exp_many(problems.data(), static_cast<std::int64_t>(count),
                                symmetric ? KdeSymmetry::kSymmetric : KdeSymmetry::kPlain);
        }
        py::list out;
        for (std::size_t p = 0; p < count; ++p) {
          py::list per_alpha;
          for (std::size_t a = 0; a < alphas[p].size(); ++a) {
            py::object w = py::none();
            if (groups[p].has_value()) w = within[p][a];
            per_alpha.append(py::make_tuple(all[p][a], w));
          }
          out.append(per_alpha);
        }
        return out;
      },
      py::arg("xs").noconvert(), py::arg("alphas"), py::arg("groups").noconvert(), py::arg("symmetric") = true,
      "kde_log_sum_exp_alphas for many matrices (a list of alpha lists and of groupings or None, one "
      "per matrix) in one parallel region: per matrix, a list of (all, within) pairs, one per alpha, "
      "bit for bit those of separate calls.");
}

}  // namespace ibfast::bindings
