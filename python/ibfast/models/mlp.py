"""Fully connected networks, batched over seeds: S independent nets as one stacked model.

Weights are (S, fan_in, fan_out) and every layer is one batched matmul, so S seeds cost about
one forward pass. Each seed draws its init from its own generator and sees its own mini-batches,
and the loss is the sum of the per-seed mean losses, so each seed's gradient (and Adam, being
elementwise, its update) is exactly what a separate run would get.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch

from . import activations, fused


def truncated_normal_(t: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """Fill t with Normal(0, std) truncated at 2 std (redrawn, like tf.truncated_normal)."""
    with torch.no_grad():
        out = torch.empty(t.shape)
        filled = torch.zeros(t.shape, dtype=torch.bool)
        while not bool(filled.all()):
            draw = torch.randn(t.shape, generator=generator)
            take = (draw.abs() <= 2.0) & ~filled
            out[take] = draw[take]
            filled |= take
        t.copy_(out * std)
    return t


def _runs(specs: list[activations.ActivationSpec]) -> list[tuple[int, list[activations.ActivationSpec]]]:
    """(start, run) for each run of equal neighbours."""
    out: list[tuple[int, list[activations.ActivationSpec]]] = []
    for i, spec in enumerate(specs):
        if out and out[-1][1][-1] is spec:
            out[-1][1].append(spec)
        else:
            out.append((i, [spec]))
    return out


class SeedBatchedMLP(torch.nn.Module):
    """``len(seeds)`` fully connected nets of widths ``[n_in, *hidden, n_out]``, softmax output.

    ``forward(x)`` takes x of shape (N, n_in) (shared by all seeds) or (S, N, n_in) and returns the
    list of layer outputs: each hidden layer after its activation, then the softmax output, each
    (S, N, width); ``forward_all(x)`` gives the hidden layers and the pre-softmax logits.

    The work runs feature-major: activations are (S, width, N) and layer k computes
    z = W_k h + b_k with ``weights[k]`` of shape (S, fan_out, fan_in) and ``biases[k]`` of shape
    (S, fan_out, 1). With the sample axis last, every batched matmul (forward and both backward
    ones) is a long-row GEMM, about twice as fast on a CPU for these narrow layers as the
    (S, N, width) layout, and no transpose enters the autograd graph.

    ``init_gain`` picks the init gains (see ``reset_parameters``). A parametric activation (PReLU)
    gets ``act_params[k]`` of shape (S, width_k, n_params) for hidden layer k (the list is empty
    otherwise); ``l2_penalty`` covers them only with ``l2_on_activation_params``.

    With ``fused_activations`` (the default), a packed or parametric model's built-in activations
    of CPU float32 layers run as one compiled pass over all seeds, forward and backward
    (models/fused.py: within a few ulp of torch's functions); False, a single parameter-free
    activation, or any activation of your own calls the torch functions.
    """

    def __init__(
        self,
        n_in: int,
        hidden: Sequence[int],
        n_out: int,
        activation: str | Sequence[str],
        seeds: Sequence[int],
        device: str | torch.device = "cpu",
        *,
        init_gain: str = "authors",
        l2_on_activation_params: bool = False,
        fused_activations: bool = True,
    ) -> None:
        super().__init__()
        self.init_gain = activations.check_init_gain_rule(init_gain)
        self.l2_on_activation_params = bool(l2_on_activation_params)
        if len(seeds) == 0:
            raise ValueError("at least one seed is needed")
        widths = [int(n_in), *(int(h) for h in hidden), int(n_out)]
        if any(w < 1 for w in widths):
            raise ValueError(f"layer widths must be >= 1, got {widths}")
        self.seeds = [int(s) for s in seeds]
        names = [activation] * len(self.seeds) if isinstance(activation, str) else list(activation)
        if len(names) != len(self.seeds):
            raise ValueError(f"got {len(names)} activations for {len(self.seeds)} seeds")
        # Packed models (several configurations trained as one): an activation per seed, applied
        # per run of equal neighbours. A single activation keeps the one-call path.
        self.specs = [activations.get(n) for n in names]
        self.blocks = [(self.specs[a], a, a + len(list(g))) for a, g in
                       _runs(self.specs)]
        self._block_sizes = [b - a for _, a, b in self.blocks]
        self.spec = self.specs[0]
        # Where torch would need several ops per layer (a packed model's blocks, an activation's
        # parameters), built-in activations of CPU float32 layers run as one compiled pass over
        # all seeds (models/fused.py). A single parameter-free activation keeps its one torch op:
        # the compiled pass's Python autograd hop costs more than it saves there.
        several_ops = len(self.blocks) > 1 or any(spec.n_params > 0 for spec in self.specs)
        self._kernel_kinds = fused.kernel_kinds(self.specs) if fused_activations and several_ops else None
        self.widths = widths
        # Every weight, bias and activation parameter is a leaf Parameter aliasing a slice of one
        # flat buffer, so the optimiser (FlatAdam) updates all of them with a few ops on the
        # buffer instead of looping over many tiny tensors, which dominates the step time of these
        # small nets. Create the model on its device: .to() would copy the parameters out of the
        # buffer. Activation parameters come last, so the weights' layout is the same with or
        # without them.
        n_seeds = len(seeds)
        shapes: list[tuple[int, ...]] = []
        for a, b in itertools.pairwise(widths):
            shapes += [(n_seeds, b, a), (n_seeds, b, 1)]
        n_layers = len(widths) - 1
        k = max(spec.n_params for spec in self.specs)
        act_shapes = [(n_seeds, w, k) for w in widths[1:-1]] if k > 0 else []
        shapes += act_shapes
        self.flat: torch.Tensor
        self.register_buffer("flat", torch.zeros(sum(math.prod(s) for s in shapes), device=device))
        views, at = [], 0
        for shape in shapes:
            views.append(self.flat[at:at + math.prod(shape)].view(shape))
            at += math.prod(shape)
        layer_views, act_views = views[:2 * n_layers], views[2 * n_layers:]
        self.weights = torch.nn.ParameterList(torch.nn.Parameter(v) for v in layer_views[0::2])
        self.biases = torch.nn.ParameterList(torch.nn.Parameter(v) for v in layer_views[1::2])
        self.act_params = torch.nn.ParameterList(torch.nn.Parameter(v) for v in act_views)
        self.reset_parameters()

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    def reset_parameters(self) -> None:
        """Truncated normal weights, std g / sqrt(fan_in), per seed from its own generator; biases 0;
        activation parameters at the activation's ``init_param``.

        ``init_gain="authors"`` (Chelombiev et al.'s code): every layer, the output included, uses
        the activation's ``gain``. ``"ibfast"``: the hidden layers use its ``ibfast_gain`` and the
        output layer gain 1.
        """
        last = len(self.weights) - 1
        with torch.no_grad():
            for s, (seed, spec) in enumerate(zip(self.seeds, self.specs, strict=True)):
                gains = [spec.hidden_gain(self.init_gain)] * last + [spec.output_gain(self.init_gain)]
                gen = torch.Generator().manual_seed(seed)
                for w, gain in zip(self.weights, gains, strict=True):
                    truncated_normal_(w[s], gain / math.sqrt(w.shape[2]), gen)
            for b in self.biases:
                b.zero_()
            for p in self.act_params:
                for spec, a, b_ in self.blocks:
                    p[a:b_].fill_(spec.init_param)

    def _expand(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2 and x.shape[1] == self.widths[0]:
            return x.unsqueeze(0).expand(self.n_seeds, -1, -1)
        if x.dim() == 3 and x.shape[0] == self.n_seeds and x.shape[2] == self.widths[0]:
            return x
        raise ValueError(
            f"x must be (N, {self.widths[0]}) or ({self.n_seeds}, N, {self.widths[0]}), "
            f"got {tuple(x.shape)}"
        )

    def forward_features(
        self, h: torch.Tensor, keep_hidden: bool = True
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Feature-major pass: h is (S, n_in, N); returns the hidden layers (S, width, N) (none
        when ``keep_hidden`` is False) and the logits (S, n_out, N)."""
        hidden = []
        last = len(self.weights) - 1
        for layer in range(last):
            z = torch.baddbmm(self.biases[layer], self.weights[layer], h)
            if self._kernel_kinds is not None and fused.can_fuse(z):
                h = fused.packed_activation(z, self._kernel_kinds,
                                            self.act_params[layer] if self.act_params else None)
            elif len(self.blocks) == 1:
                h = self._activate(self.spec, z, layer, 0, z.shape[0])
            else:  # packed: each block of seeds through its own activation. split, not slicing:
                # a slice's backward fills a zero tensor of the whole size per block, split's
                # backward concatenates the blocks' gradients
                parts = z.split(self._block_sizes)
                h = torch.cat([self._activate(spec, part, layer, a, b)
                               for (spec, a, b), part in zip(self.blocks, parts, strict=True)])
            if keep_hidden:
                hidden.append(h)
        return hidden, torch.baddbmm(self.biases[last], self.weights[last], h)

    def _activate(self, spec: activations.ActivationSpec, z: torch.Tensor, layer: int, a: int,
                  b: int) -> torch.Tensor:
        if spec.n_params == 0:
            return spec.fn(z)
        params = self.act_params[layer]
        if (a, b) == (0, params.shape[0]) and spec.n_params == params.shape[2]:
            return spec.fn(z, params)
        return spec.fn(z, params[a:b, :, :spec.n_params])

    def forward_all(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Hidden layer outputs and the logits, each (S, N, width) (transposed views of the
        feature-major results), for x (N, n_in) or (S, N, n_in)."""
        hidden, logits = self.forward_features(self._expand(x).transpose(1, 2))
        return [t.transpose(1, 2) for t in hidden], logits.transpose(1, 2)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        hidden, logits = self.forward_all(x)
        return [*hidden, torch.softmax(logits, dim=-1)]

    def l2_penalty(self) -> torch.Tensor:
        """Per seed: sum over hidden-layer weight matrices of ||W||^2 / 2, shape (S,), plus the
        activation parameters' ||a||^2 / 2 if the model was built with ``l2_on_activation_params``."""
        total = torch.zeros(self.n_seeds, device=self.flat.device)
        for w in list(self.weights)[:-1]:
            total = total + 0.5 * (w * w).sum(dim=(1, 2))
        if self.l2_on_activation_params:
            for p in self.act_params:
                total = total + 0.5 * (p * p).sum(dim=(1, 2))
        return total
