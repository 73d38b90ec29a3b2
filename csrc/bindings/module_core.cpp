// ibfast._core: the CPU kernels. Bindings only translate arrays; the statistics live in Python.
#include "registry.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "ibfast CPU kernels (C++17, OpenMP). Call them through ibfast.kernels, which validates.";
  ibfast::bindings::register_binning(m);
  ibfast::bindings::register_entropy(m);
  ibfast::bindings::register_kde(m);
  ibfast::bindings::register_info(m);
  ibfast::bindings::register_activations(m);
}
