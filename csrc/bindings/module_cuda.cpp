// ibfast._cuda: the CUDA kernels, called with device pointers, sizes and a stream as integers
// (pybind11 has no DLPack caster and ibfast does not link libtorch). ibfast.kernels validates and
// allocates every buffer with torch on the tensor's device before calling in here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "ibfast/cuda.hpp"

namespace py = pybind11;
namespace ic = ibfast::cuda;

namespace {

template <typename T>
T* ptr(std::uintptr_t p) {
  return reinterpret_cast<T*>(p);
}

py::array_t<double> to_array(const std::vector<double>& v) {
  py::array_t<double> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "ibfast CUDA kernels on device pointers. Call them through ibfast.kernels.";
  // Out of device memory: a MemoryError subclass, told apart from other CUDA errors by its type.
  py::register_exception<ic::OutOfMemory>(m, "OutOfMemoryError", PyExc_MemoryError);
  m.attr("max_edges") = ic::kMaxEdges;
  // The CUDA architectures this module's kernels were compiled for: CMAKE_CUDA_ARCHITECTURES with
  // commas for semicolons, e.g. "80-real,90-real,120".
  m.attr("architectures") = IBFAST_CUDA_ARCHITECTURES;

  m.def("device_count", &ic::device_count, "CUDA devices visible (0 without driver or device).");
  m.def("device_error", &ic::device_error, "Why device_count() is 0 (the CUDA runtime's message).");
  m.def("scratch_peak_bytes", &ic::scratch_peak_bytes, py::arg("reset") = false,
        "Peak bytes of kernel scratch (stream-ordered pool of the current device) since the last reset.");

  // Every call releases the GIL: the work is enqueued on (and may wait for) a CUDA stream and
  // touches no Python object. The kernels check their own arguments (row_entropy's and
  // binned_row_entropy's in ibfast/row_entropy_checks.hpp, shared with the CPU).
  m.def(
      "bin_by_edges",
      [](std::uintptr_t x, std::int64_t count, const py::array_t<double, py::array::c_style>& edges,
         std::uintptr_t codes, std::uintptr_t stream) {
        const double* e = edges.data();
        const auto n_edges = static_cast<std::int64_t>(edges.size());
        py::gil_scoped_release release;
        ic::bin_by_edges(ptr<const float>(x), count, e, n_edges, ptr<std::int32_t>(codes), stream);
      },
      py::arg("x"), py::arg("count"), py::arg("edges").noconvert(), py::arg("codes"), py::arg("stream"));

  m.def(
      "bin_by_width",
      [](std::uintptr_t x, std::int64_t count, double width, std::uintptr_t codes, std::uintptr_t stream) {
        py::gil_scoped_release release;
        ic::bin_by_width(ptr<const float>(x), count, width, ptr<std::int32_t>(codes), stream);
      },
      py::arg("x"), py::arg("count"), py::arg("width"), py::arg("codes"), py::arg("stream"));

  m.def(
      "ebab_edges",
      [](std::uintptr_t x, std::int64_t count, std::int64_t n_bins, std::optional<double> lower,
         std::uintptr_t stream) {
        std::vector<double> edges;
        {
          py::gil_scoped_release release;
          edges = ic::ebab_edges(ptr<const float>(x), count, n_bins, lower.has_value(),
                                 lower.value_or(0.0), stream);
        }
        return to_array(edges);
      },
      py::arg("x"), py::arg("count"), py::arg("n_bins"), py::arg("lower"), py::arg("stream"));

  m.def(
      "row_entropy",
      [](std::uintptr_t codes, std::int64_t n, std::int64_t d, const std::vector<std::uintptr_t>& groupings,
         const std::vector<std::int64_t>& n_groups, std::uintptr_t stream) {
        std::vector<const std::int32_t*> g;
        for (auto p : groupings) g.push_back(ptr<const std::int32_t>(p));
        ibfast::RowEntropy r;
        {
          py::gil_scoped_release release;
          r = ic::row_entropy(ptr<const std::int32_t>(codes), n, d, g, n_groups, stream);
        }
        return py::make_tuple(r.h_rows, r.h_given, r.n_distinct);
      },
      py::arg("codes"), py::arg("n"), py::arg("d"), py::arg("groupings"), py::arg("n_groups"),
      py::arg("stream"));

  m.def(
      "binned_row_entropy",
      [](std::uintptr_t x, std::int64_t n, std::int64_t d,
         const std::optional<py::array_t<double, py::array::c_style>>& edges, std::optional<double> width,
         const std::vector<std::uintptr_t>& groupings, const std::vector<std::int64_t>& n_groups, int hash_bits,
         std::uintptr_t stream) {
        if (edges.has_value() == width.has_value()) throw py::value_error("give either edges or width");
        std::vector<const std::int32_t*> g;
        for (auto p : groupings) g.push_back(ptr<const std::int32_t>(p));
        const ibfast::BinSpec bins =
            edges ? ibfast::BinSpec::with_edges(edges->data(), static_cast<std::int64_t>(edges->size()))
                  : ibfast::BinSpec::with_width(*width);
        ibfast::RowEntropy r;
        {
          py::gil_scoped_release release;
          r = ic::binned_row_entropy(ptr<const float>(x), n, d, bins, g, n_groups, stream, hash_bits);
        }
        return py::make_tuple(r.h_rows, r.h_given, r.n_distinct);
      },
      py::arg("x"), py::arg("n"), py::arg("d"), py::arg("edges").noconvert(), py::arg("width"),
      py::arg("groupings"), py::arg("n_groups"), py::arg("hash_bits"), py::arg("stream"),
      "row_entropy of the bin codes of x (device) by host edges or a width, without a code matrix.");

  m.def(
      "kde_log_sum_exp",
      [](const std::vector<std::tuple<std::uintptr_t, std::int64_t, std::int64_t, std::vector<double>,
                                      std::uintptr_t, std::vector<std::uintptr_t>, std::vector<std::uintptr_t>>>&
             items,
         std::uintptr_t stream) {
        std::vector<ic::KdeItem> v;
        v.reserve(items.size());
        for (const auto& [x, n, d, alphas, groups, out_all, out_within] : items) {
          ic::KdeItem it;
          it.x = ptr<const float>(x);
          it.n = n;
          it.d = d;
          it.alphas = alphas;
          it.groups = ptr<const std::int32_t>(groups);
          for (const std::uintptr_t p : out_all) it.out_all.push_back(ptr<double>(p));
          for (const std::uintptr_t p : out_within) it.out_within.push_back(ptr<double>(p));
          v.push_back(std::move(it));
        }
        py::gil_scoped_release release;
        ic::kde_log_sum_exp(v, stream);
      },
      py::arg("items"), py::arg("stream"),
      "items: (x, n, d, [alpha, ...], groups or 0, [out_all per alpha], [out_within per alpha] or []) device "
      "pointers and sizes; every alpha of an item from one distance computation.");
}
