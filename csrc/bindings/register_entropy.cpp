#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <vector>

#include "ibfast/distinct_rows.hpp"
#include "registry.hpp"

namespace py = pybind11;

namespace ibfast::bindings {

void register_entropy(py::module_& m) {
  m.def(
      "distinct_row_ids",
      [](const carray<std::int32_t>& codes) {
        const auto n = static_cast<std::int64_t>(codes.shape(0));
        const auto d = static_cast<std::int64_t>(codes.shape(1));
        carray<std::int32_t> ids(n);
        std::int32_t* pid = ids.mutable_data();
        const std::int32_t* pc = codes.data();
        std::int64_t k;
        {
          py::gil_scoped_release release;  // reads codes, writes ids: both held by this call
          k = distinct_row_ids(pc, n, d, pid);
        }
        return py::make_tuple(ids, k);
      },
      py::arg("codes").noconvert(), "Ids of distinct rows (order of first appearance) and their count.");

  m.def(
      "row_entropy",
      [](const carray<std::int32_t>& codes, const std::vector<carray<std::int32_t>>& groupings,
         const std::vector<std::int64_t>& n_groups) {
        if (groupings.size() != n_groups.size()) throw py::value_error("one n_groups per grouping");
        const auto n = static_cast<std::int64_t>(codes.shape(0));
        const auto d = static_cast<std::int64_t>(codes.shape(1));
        std::vector<const std::int32_t*> ptrs;
        for (const auto& g : groupings) ptrs.push_back(g.data());
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
