#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "ibfast/distinct_rows.hpp"
#include "registry.hpp"

namespace py = pybind11;

namespace ibfast::bindings {

void register_entropy(py::module_& m) {
  m.def(
      "row_entropy",
      [](const carray<std::int32_t>& codes, const std::vector<carray<std::int32_t>>& groupings,
         const std::vector<std::int64_t>& n_groups) {
        if (codes.ndim() != 2) throw std::invalid_argument("ibfast row_entropy: codes must be 2-D");
        const auto n = static_cast<std::int64_t>(codes.shape(0));
        const auto d = static_cast<std::int64_t>(codes.shape(1));
        // The kernel reads n ids from each pointer: the lengths can only be checked here.
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
        RowEntropy r;
        {
          py::gil_scoped_release release;  // the arrays are kept alive by the argument list
          r = row_entropy(codes.data(), n, d, ptrs, n_groups);
        }
        return py::make_tuple(r.h_rows, r.h_given, r.n_distinct);
      },
      py::arg("codes").noconvert(), py::arg("groupings"), py::arg("n_groups"),
      "Plug-in H(rows) and H(rows | grouping) for each grouping, in nats, and the distinct-row count.");
}

}  // namespace ibfast::bindings
