#include <pybind11/stl.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "ibfast/activations.hpp"
#include "registry.hpp"

namespace py = pybind11;

namespace ibfast::bindings {

namespace {

LayerShape layer_shape(const carray<float>& z, const char* name) {
  if (z.ndim() != 3) {
    throw std::invalid_argument(std::string("ibfast activations: ") + name + " must be (seeds, width, n), got " +
                                std::to_string(z.ndim()) + "-D");
  }
  return LayerShape{static_cast<std::int64_t>(z.shape(0)), static_cast<std::int64_t>(z.shape(1)),
                    static_cast<std::int64_t>(z.shape(2))};
}

void same_shape(const carray<float>& a, LayerShape shape, const char* name) {
  const LayerShape other = layer_shape(a, name);
  if (other.seeds != shape.seeds || other.width != shape.width || other.n != shape.n) {
    throw std::invalid_argument(std::string("ibfast activations: ") + name + " must have the shape of z");
  }
}

void check_kinds_length(const carray<std::int32_t>& kinds, LayerShape shape) {
  if (kinds.ndim() != 1 || static_cast<std::int64_t>(kinds.shape(0)) != shape.seeds) {
    throw std::invalid_argument("ibfast activations: kinds must hold one kind per seed");
  }
}

// The stride of the (seeds, width, k >= 1) parameters' first column; 0 for none.
std::int64_t param_stride(const std::optional<carray<float>>& params, LayerShape shape) {
  if (!params) return 0;
  if (params->ndim() != 3 || static_cast<std::int64_t>(params->shape(0)) != shape.seeds ||
      static_cast<std::int64_t>(params->shape(1)) != shape.width || params->shape(2) < 1) {
    throw std::invalid_argument("ibfast activations: params must be (seeds, width, k >= 1)");
  }
  return static_cast<std::int64_t>(params->shape(2));
}

}  // namespace

void register_activations(py::module_& m) {
  // The kinds by name, so that Python reads the numbering from here (ibfast.models.activations'
  // KERNEL_KINDS, ibfast.models.fused) instead of keeping a copy of it.
  py::enum_<ActivationKind>(m, "ActivationKind",
                            "The compiled activations: kinds[s] of activations_forward / activations_backward.")
      .value("linear", ActivationKind::linear)
      .value("tanh", ActivationKind::tanh)
      .value("relu", ActivationKind::relu)
      .value("elu", ActivationKind::elu, "alpha = 1")
      .value("softplus", ActivationKind::softplus, "beta = 1")
      .value("centred_softplus", ActivationKind::centred_softplus, "softplus - ln 2")
      .value("softsign", ActivationKind::softsign)
      .value("leaky_relu", ActivationKind::leaky_relu, "negative slope 0.01")
      .value("silu", ActivationKind::silu, "z * sigmoid(z), also called swish")
      .value("sigmoid", ActivationKind::sigmoid)
      .value("abs", ActivationKind::abs)
      .value("prelu", ActivationKind::prelu, "z >= 0 ? z : a * z, a per seed and unit (params[..., 0])");

  m.def(
      "activations_forward",
      [](const carray<float>& z, carray<float>& h, std::optional<carray<float>>& derivative,
         const carray<std::int32_t>& kinds, const std::optional<carray<float>>& params) {
        const LayerShape shape = layer_shape(z, "z");
        same_shape(h, shape, "h");
        if (derivative) same_shape(*derivative, shape, "derivative");
        check_kinds_length(kinds, shape);
        const std::int64_t stride = param_stride(params, shape);
        const float* p = params ? params->data() : nullptr;
        float* out = h.mutable_data();
        float* d = derivative ? derivative->mutable_data() : nullptr;
        py::gil_scoped_release release;  // the arrays are kept alive by the argument list
        activations_forward(z.data(), out, d, shape, kinds.data(), p, stride);
      },
      py::arg("z").noconvert(), py::arg("h").noconvert(), py::arg("derivative").noconvert(),
      py::arg("kinds").noconvert(), py::arg("params").noconvert() = py::none(),
      "h[s] = activation kinds[s] of z[s] for a (seeds, width, n) layer, and its derivative there unless "
      "derivative is None (ibfast.models.fused).");

  m.def(
      "activations_backward",
      [](const carray<float>& z, const carray<float>& derivative, const carray<float>& grad_h,
         carray<float>& grad_z, const carray<std::int32_t>& kinds, std::optional<carray<float>>& grad_params) {
        const LayerShape shape = layer_shape(z, "z");
        same_shape(derivative, shape, "derivative");
        same_shape(grad_h, shape, "grad_h");
        same_shape(grad_z, shape, "grad_z");
        check_kinds_length(kinds, shape);
        const std::int64_t stride = param_stride(grad_params, shape);
        float* gp = grad_params ? grad_params->mutable_data() : nullptr;
        float* out = grad_z.mutable_data();
        py::gil_scoped_release release;
        activations_backward(z.data(), derivative.data(), grad_h.data(), out, shape, kinds.data(), gp, stride);
      },
      py::arg("z").noconvert(), py::arg("derivative").noconvert(), py::arg("grad_h").noconvert(),
      py::arg("grad_z").noconvert(), py::arg("kinds").noconvert(), py::arg("grad_params").noconvert() = py::none(),
      "grad_z = grad_h * derivative and prelu's slope gradients into grad_params (ibfast.models.fused).");
}

}  // namespace ibfast::bindings
