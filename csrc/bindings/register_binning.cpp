#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>
#include <stdexcept>
#include <vector>

#include "ibfast/binning.hpp"
#include "ibfast/ebab.hpp"
#include "ibfast/scan.hpp"
#include "registry.hpp"

namespace py = pybind11;

namespace ibfast::bindings {

namespace {

carray<std::int32_t> codes_like(const carray<float>& x) {
  std::vector<py::ssize_t> shape(x.shape(), x.shape() + x.ndim());
  return carray<std::int32_t>(shape);
}

template <typename T>
py::array_t<T> to_array(const std::vector<T>& v) {
  py::array_t<T> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

}  // namespace

void register_binning(py::module_& m) {
  m.def(
      "bin_by_edges",
      [](const carray<float>& x, const carray<double>& edges) {
        auto codes = codes_like(x);
        const float* px = x.data();
        const double* pe = edges.data();
        std::int32_t* pc = codes.mutable_data();
        const auto count = static_cast<std::int64_t>(x.size());
        const auto n_edges = static_cast<std::int64_t>(edges.size());
        // Release the GIL: the loop touches only these buffers, which the arguments keep alive.
        py::gil_scoped_release release;
        bin_by_edges(px, count, pe, n_edges, pc);
        return codes;
      },
      py::arg("x").noconvert(), py::arg("edges").noconvert(),
      "Bin codes: the largest k with edges[k] <= x, -1 below edges[0].");

  m.def(
      "bin_by_width",
      [](const carray<float>& x, double width) {
        auto codes = codes_like(x);
        const float* px = x.data();
        std::int32_t* pc = codes.mutable_data();
        const auto count = static_cast<std::int64_t>(x.size());
        py::gil_scoped_release release;  // pure loop over owned buffers
        bin_by_width(px, count, width, pc);
        return codes;
      },
      py::arg("x").noconvert(), py::arg("width"), "Bin codes floor(x / width).");

  m.def(
      "sorted_distinct",
      [](const carray<float>& x) {
        std::vector<float> u;
        {
          py::gil_scoped_release release;  // sorting only reads x
          u = sorted_distinct(x.data(), static_cast<std::int64_t>(x.size()));
        }
        return to_array(u);
      },
      py::arg("x").noconvert(), "Sorted distinct values (-0.0 == 0.0).");

  m.def(
      "ebab_edges",
      [](const carray<float>& x, std::int64_t n_bins, std::optional<double> lower) {
        std::vector<double> edges;
        {
          py::gil_scoped_release release;  // sorting only reads x
          edges = ebab_edges(x.data(), static_cast<std::int64_t>(x.size()), n_bins,
                             lower.has_value(), lower.value_or(0.0));
        }
        return to_array(edges);
      },
      py::arg("x").noconvert(), py::arg("n_bins"), py::arg("lower"),
      "EBAB edges of all values of x (Chelombiev et al. 2019).");

  m.def(
      "count_nonfinite",
      [](const carray<float>& x) {
        py::gil_scoped_release release;  // reads x only
        return count_nonfinite(x.data(), static_cast<std::int64_t>(x.size()));
      },
      py::arg("x").noconvert(), "The number of NaN and inf values of x (one parallel pass, no temporary).");

  m.def(
      "min_max",
      [](const carray<float>& x) {
        if (x.size() == 0) throw std::invalid_argument("ibfast min_max: empty array");
        MinMax r;
        {
          py::gil_scoped_release release;  // reads x only
          r = min_max(x.data(), static_cast<std::int64_t>(x.size()));
        }
        return py::make_tuple(static_cast<double>(r.lo), static_cast<double>(r.hi));
      },
      py::arg("x").noconvert(), "(min, max) of a NaN-free float32 array, one parallel pass.");
}

}  // namespace ibfast::bindings
