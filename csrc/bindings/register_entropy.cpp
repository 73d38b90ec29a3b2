#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ibfast/binned_entropy.hpp"
#include "ibfast/distinct_rows.hpp"
#include "registry.hpp"

namespace py = pybind11;

namespace ibfast::bindings {

namespace {

// Pointers to the groupings after checking that each is 1-D with one id per row: the kernels read
// n ids from each pointer, and only here are the lengths known.
std::vector<const std::int32_t*> grouping_pointers(const std::vector<carray<std::int32_t>>& groupings,
                                                   std::int64_t n) {
  std::vector<const std::int32_t*> ptrs;
  for (std::size_t k = 0; k < groupings.size(); ++k) {
    const auto& g = groupings[k];
    if (g.ndim() != 1) {
      throw std::invalid_argument("ibfast row_entropy: grouping " + std::to_string(k) + " must be 1-D, got " +
                                  std::to_string(g.ndim()) + "-D");
    }
    if (static_cast<std::int64_t>(g.shape(0)) != n) {
      throw std::invalid_argument("ibfast row_entropy: grouping " + std::to_string(k) + " has " +
                                  std::to_string(g.shape(0)) + " ids, expected " + std::to_string(n) +
                                  " (one per row)");
    }
    ptrs.push_back(g.data());
  }
  return ptrs;
}

}  // namespace

void register_entropy(py::module_& m) {
  m.def(
      "row_entropy",
      [](const carray<std::int32_t>& codes, const std::vector<carray<std::int32_t>>& groupings,
         const std::vector<std::int64_t>& n_groups) {
        if (codes.ndim() != 2) throw std::invalid_argument("ibfast row_entropy: codes must be 2-D");
        const auto n = static_cast<std::int64_t>(codes.shape(0));
        const auto d = static_cast<std::int64_t>(codes.shape(1));
        const std::vector<const std::int32_t*> ptrs = grouping_pointers(groupings, n);
        RowEntropy r;
        {
          py::gil_scoped_release release;  // the arrays are kept alive by the argument list
          r = row_entropy(codes.data(), n, d, ptrs, n_groups);
        }
        return py::make_tuple(r.h_rows, r.h_given, r.n_distinct);
      },
      py::arg("codes").noconvert(), py::arg("groupings"), py::arg("n_groups"),
      "Plug-in H(rows) and H(rows | grouping) for each grouping, in nats, and the distinct-row count.");

  m.def(
      "binned_row_entropy",
      [](const carray<float>& x, const std::optional<carray<double>>& edges, std::optional<double> width,
         const std::vector<carray<std::int32_t>>& groupings, const std::vector<std::int64_t>& n_groups,
         int hash_bits) {
        if (x.ndim() != 2) throw std::invalid_argument("ibfast binned_row_entropy: x must be 2-D");
        if (edges.has_value() == width.has_value()) {
          throw std::invalid_argument("ibfast binned_row_entropy: give either edges or width");
        }
        const auto n = static_cast<std::int64_t>(x.shape(0));
        const auto d = static_cast<std::int64_t>(x.shape(1));
        const std::vector<const std::int32_t*> ptrs = grouping_pointers(groupings, n);
        const BinSpec bins = edges ? BinSpec::with_edges(edges->data(), static_cast<std::int64_t>(edges->size()))
                                   : BinSpec::with_width(*width);
        RowEntropy r;
        {
          py::gil_scoped_release release;  // x, the edges and the groupings are kept alive by the arguments
          r = binned_row_entropy(x.data(), n, d, bins, ptrs, n_groups, hash_bits);
        }
        return py::make_tuple(r.h_rows, r.h_given, r.n_distinct);
      },
      py::arg("x").noconvert(), py::arg("edges").noconvert(), py::arg("width"), py::arg("groupings"),
      py::arg("n_groups"), py::arg("hash_bits") = 64,
      "row_entropy of the bin codes of x (by sorted edges or by a width; exactly one is given), in one\n"
      "pass without a code matrix: H(rows), H(rows | grouping) per grouping in nats, distinct rows.\n"
      "hash_bits < 64 truncates the row hashes (tests: forces collisions through the verification).");
}

}  // namespace ibfast::bindings
