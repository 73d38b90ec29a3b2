// One register_<area> function per binding file; module_core.cpp calls them all.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

namespace ibfast::bindings {

void register_binning(pybind11::module_& m);
void register_entropy(pybind11::module_& m);
void register_kde(pybind11::module_& m);
void register_info(pybind11::module_& m);
void register_activations(pybind11::module_& m);

// Arrays come from ibfast's Python layer already validated and C-contiguous with the exact
// dtype; `noconvert` on every array argument makes a direct call with anything else a TypeError
// instead of a silent copy.
template <typename T>
using carray = pybind11::array_t<T, pybind11::array::c_style>;

}  // namespace ibfast::bindings
