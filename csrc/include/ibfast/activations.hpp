// Elementwise activations of a packed model (several activations, one per block of seeds) in one
// pass per layer, forward and backward, so a packed training step is not a split, one torch op
// per block and a concatenation per layer and direction.
//
// Layout: the layer is (S, W, n) row-major (seed, unit, sample; the feature-major layout of
// SeedBatchedMLP), kinds[s] is seed s's ActivationKind, and prelu's slope of seed s and unit w is
// params[(s * W + w) * param_stride] (the (S, W, k) activation parameters, first column).
#pragma once
#include <cstdint>

namespace ibfast {

// Bound as ibfast._core.ActivationKind (csrc/bindings/register_activations.cpp), which Python reads
// the numbers from; every kind added here must be bound there too (tests/test_fused_activations.py).
enum class ActivationKind : std::int32_t {
  linear = 0,
  tanh = 1,
  relu = 2,
  elu = 3,               // alpha = 1
  softplus = 4,          // beta = 1
  centred_softplus = 5,  // softplus - ln 2
  softsign = 6,
  leaky_relu = 7,        // negative slope 0.01
  silu = 8,              // z * sigmoid(z), also "swish"
  sigmoid = 9,
  abs = 10,
  prelu = 11,            // z >= 0 ? z : a * z
};
constexpr std::int32_t kActivationKinds = 12;

struct LayerShape {
  std::int64_t seeds = 0;
  std::int64_t width = 0;
  std::int64_t n = 0;
};

// h = act_s(z) for every seed s; NaN in z gives NaN in h. With derivative non-null, also
// derivative = act_s'(z) (what the backward pass multiplies by: computed here, beside the
// function, the exp they share is taken once).
void activations_forward(const float* z, float* h, float* derivative, LayerShape shape,
                         const std::int32_t* kinds, const float* params, std::int64_t param_stride);

// grad_z = grad_h * derivative (from activations_forward); for prelu seeds also
// grad_params[(s * W + w) * param_stride] = sum over the samples of grad_h * z where z < 0,
// accumulated in double. Other entries of grad_params are left as they are (it may be null when
// no seed is prelu).
void activations_backward(const float* z, const float* derivative, const float* grad_h, float* grad_z,
                          LayerShape shape, const std::int32_t* kinds, float* grad_params,
                          std::int64_t param_stride);

}  // namespace ibfast
