"""Training and a full experiment on this machine's CPU.

    pytest bench/test_bench_experiment.py -p no:cacheprovider --benchmark-columns=min,median,rounds

* training throughput: 20 seeds of the 12-10-7-5-4-3-2 tanh net trained as one batched model
  (``train_one_epoch`` on S = 20) against 20 sequential runs (S = 1 each), the same optimiser
  steps per seed, estimation excluded. Target: batched >= 10x the steps per second.
* the full default run (slow): 8000 epochs, the 274 recorded epochs, EBAB and KDE upper on all 6
  layers, one seed. Target: <= 120 s. Its split of time (training, waiting on estimation) is
  printed as notes.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from ibfast.data import generate  # noqa: E402
from ibfast.experiment import Experiment, ExperimentConfig  # noqa: E402
from ibfast.experiment.batches import BatchOrder  # noqa: E402
from ibfast.experiment.train import train_one_epoch  # noqa: E402
from ibfast.models import SeedBatchedMLP  # noqa: E402
from ibfast.models.optim import FlatAdam  # noqa: E402

N_SEEDS = 20
EPOCHS = 4
TRAIN_GROUP = f"training {N_SEEDS} seeds x {EPOCHS} epochs (12-bit, batch 256), no estimation"


def _setup(seeds: list[int]) -> tuple[SeedBatchedMLP, FlatAdam, BatchOrder]:
    m = SeedBatchedMLP(12, (10, 7, 5, 4, 3), 2, "tanh", seeds)
    return m, FlatAdam(m.flat, list(m.parameters()), lr=4e-4), BatchOrder("per_seed", seeds, 3277)


@pytest.fixture(scope="module")
def train_data() -> tuple[torch.Tensor, torch.Tensor]:
    d = generate(0)
    return torch.from_numpy(d.x[:3277]), torch.from_numpy(d.y[:3277])


def _batched(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    m, opt, gens = _setup(list(range(N_SEEDS)))
    for _ in range(EPOCHS):
        train_one_epoch(m, opt, x, y, gens.next_epoch(), 256)
    return m.flat.detach().clone()


def _sequential(x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    finals = []
    for seed in range(N_SEEDS):
        m, opt, gens = _setup([seed])
        for _ in range(EPOCHS):
            train_one_epoch(m, opt, x, y, gens.next_epoch(), 256)
        finals.append(m)
    return [w.detach().clone() for m in finals for w in m.weights]


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # as Experiment trains: the other core estimates
    yield
    torch.set_num_threads(before)


def test_train_batched(compare, train_data):
    compare.group(TRAIN_GROUP)
    compare.target_speedup("sequential", 10.0)
    compare.note("steps per seed identical in both; the ratio is the steps-per-second gain")
    flat = compare("ibfast", _batched, *train_data, rounds=3)
    assert torch.isfinite(flat).all()


def test_train_sequential(compare, train_data):
    compare.group(TRAIN_GROUP)
    weights = compare("sequential 20 runs", _sequential, *train_data, rounds=2)
    # the batched model trained the same seeds to the same weights
    m, opt, gens = _setup(list(range(N_SEEDS)))
    for _ in range(EPOCHS):
        train_one_epoch(m, opt, *train_data, gens.next_epoch(), 256)
    n_layers = len(m.weights)
    for s in range(N_SEEDS):
        for k in range(n_layers):
            torch.testing.assert_close(m.weights[k][s], weights[s * n_layers + k][0], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_full_default_run(compare):
    compare.group("full default run: 8000 epochs, 274 recorded, EBAB + KDE upper, 1 seed")
    compare.target_time(120.0)
    exp: list[Experiment] = []

    def run():
        e = Experiment(ExperimentConfig(estimators=("ebab", "kde_upper")))
        exp.append(e)
        t0 = time.perf_counter()
        df = e.run()
        return df, time.perf_counter() - t0

    df, _ = compare("ibfast", run, rounds=1, warmup_rounds=0)
    t = exp[-1].timings
    compare.note(f"training {t.train_s:.1f} s for {t.steps} steps ({t.train_s / t.steps * 1e3:.2f} ms/step), "
                 f"recording {t.record_s:.1f} s, waiting on estimation {t.estimate_wait_s:.1f} s")
    assert df["epoch"].nunique() == 274 and df["layer"].nunique() == 6
    assert np.isfinite(df["i_xt"]).all() and (df["i_xt"] <= 12 + 1e-9).all()


PACKED_ACTIVATIONS = ("tanh", "relu", "elu", "softplus", "centred_softplus", "swish", "abs", "prelu")
PACKED_GROUP = "packed grid training: 8 activations x 2 L2 x 5 seeds (80 seeds), 2 epochs each"
PACKED_NOTE = ("models built before timing (the grid trains 8000 epochs per model): the same optimiser "
               "steps per seed in every row, so the ratio is the seed-steps/s gain of packing")

Trainee = tuple[SeedBatchedMLP, FlatAdam, BatchOrder, "torch.Tensor | float"]


def _packed_model(fused_activations: bool = True) -> tuple[SeedBatchedMLP, FlatAdam, torch.Tensor]:
    names = [a for a in PACKED_ACTIVATIONS for _ in range(10)]  # 5 seeds x L2 0 and 0.015
    seeds = [s for _ in PACKED_ACTIVATIONS for s in range(10)]
    m = SeedBatchedMLP(12, (10, 7, 5, 4, 3), 2, names, seeds, fused_activations=fused_activations)
    l2 = torch.tensor([0.0 if s < 5 else 0.015 for s in seeds])
    return m, FlatAdam(m.flat, list(m.parameters()), lr=4e-4), l2


def _packed_trainee(fused_activations: bool = True) -> list[Trainee]:
    m, opt, l2 = _packed_model(fused_activations)
    return [(m, opt, BatchOrder("fixed", m.seeds, 3277), l2)]


def _single_trainees() -> list[Trainee]:
    out: list[Trainee] = []
    for a in PACKED_ACTIVATIONS:
        for s in range(10):
            m = SeedBatchedMLP(12, (10, 7, 5, 4, 3), 2, a, [s])
            opt = FlatAdam(m.flat, list(m.parameters()), lr=4e-4)
            out.append((m, opt, BatchOrder("fixed", [s], 3277), 0.0 if s < 5 else 0.015))
    return out


def _train(trainees: list[Trainee], x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    for m, opt, order, l2 in trainees:
        for _ in range(2):
            train_one_epoch(m, opt, x, y, order.next_epoch(), 256, l2)
    return [m.flat.detach().clone() for m, _, _, _ in trainees]


def test_train_packed_grid(compare, train_data):
    compare.group(PACKED_GROUP)
    compare.target_speedup("80 runs one by one", 10.0)
    compare.note(PACKED_NOTE)
    flat = compare("ibfast", _train, _packed_trainee(), *train_data, rounds=5)
    assert torch.isfinite(flat[0]).all()


def test_train_packed_grid_torch_activations(compare, train_data):
    compare.group(PACKED_GROUP)
    compare("ibfast, torch activations (fused_activations=False)", _train, _packed_trainee(False),
            *train_data, rounds=5)


def test_train_packed_grid_one_by_one(compare, train_data):
    compare.group(PACKED_GROUP)
    compare("80 runs one by one", _train, _single_trainees(), *train_data, rounds=2, warmup_rounds=1)
    # fresh models: the packed one trains every seed as its own run would
    singles = _train(_single_trainees(), *train_data)
    m, _, _ = _packed_model()
    (packed,) = _train(_packed_trainee(), *train_data)
    with torch.no_grad():
        m.flat.copy_(packed)
    assert m.weights[0].shape[0] == len(singles) == 80
    for k, single in enumerate(singles):
        first_layer = single[:120]  # a single seed's flat buffer starts with its 10 x 12 weights
        torch.testing.assert_close(m.weights[0][k].reshape(-1), first_layer, rtol=1e-4, atol=1e-5)


def test_full_grid_projection(compare, train_data):
    """The paper's full grid on this CPU, projected from measured parts (printed, target 3 h):
    8 activations x 2 L2 x 50 seeds x 8000 epochs, 274 recorded epochs, the grid's five estimators
    (``ibfast.reproduce.PAPER_ESTIMATORS``). Training: packed models of 80 seeds (10 of them), one
    thread. Estimation: every seed's 6 layers per recorded epoch through estimate_together, timed
    on layers of networks actually trained (bench/trained_layers.py: tanh, ReLU, ELU, swish at
    epochs 30, 1000 and 8000, the mean of the twelve; untrained layers cost a fraction of this),
    with the kernels' default threads, as the Experiment's estimation thread runs them beside
    training. The slower of the two bounds the run from below, their sum from above (both share
    the two cores); ``ibfast reproduce`` measures the same on the grid's first pack."""
    import ibfast
    from ibfast.reproduce import PAPER_ESTIMATORS

    from .trained_layers import trained_layers

    compare.group("full grid projection: 8 activations x 2 L2 x 50 seeds x 8000 epochs, 5 estimators")
    x, y = train_data
    m, opt, l2 = _packed_model()
    order = BatchOrder("fixed", m.seeds, x.shape[0])
    train_one_epoch(m, opt, x, y, order.next_epoch(), 256, l2)  # warm-up
    t0 = time.perf_counter()
    for _ in range(3):
        train_one_epoch(m, opt, x, y, order.next_epoch(), 256, l2)
    epoch_80 = (time.perf_counter() - t0) / 3
    trained = trained_layers()
    ests = [ibfast.make_estimator(n) for n in PAPER_ESTIMATORS]
    times = []
    for layers in trained.layers.values():
        ibfast.estimate_together(ests, layers, trained.labels)  # warm-up
        t0 = time.perf_counter()
        for _ in range(3):
            ibfast.estimate_together(ests, layers, trained.labels)
        times.append((time.perf_counter() - t0) / 3)
    seed_epoch = float(np.mean(times))
    train_h = 10 * 8000 * epoch_80 / 3600
    estimate_h = 800 * 274 * seed_epoch / 3600

    late = trained.epoch("relu", 8000)
    compare("ibfast: one seed's recorded epoch, 5 estimators, trained ReLU at 8000", ibfast.estimate_together,
            ests, late, trained.labels, rounds=5)
    compare.note(f"training {epoch_80 * 1e3:.1f} ms per epoch of 80 packed seeds -> {train_h:.2f} h; "
                 f"estimation {seed_epoch * 1e3:.1f} ms per seed and recorded epoch on trained layers "
                 f"(6 layers, 5 estimators; {min(times) * 1e3:.1f}-{max(times) * 1e3:.1f} ms over the 12) -> "
                 f"{estimate_h:.2f} h; projected total {max(train_h, estimate_h):.2f}-"
                 f"{train_h + estimate_h:.2f} h")
    compare.target_time(0.030)
    compare.check("projected grid time", f"{max(train_h, estimate_h):.2f} h", "<= 3 h",
                  max(train_h, estimate_h) <= 3.0)
