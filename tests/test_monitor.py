"""ibfast.monitor: the information plane of a user's own PyTorch model.

Fidelity against the experiment layer (the same numbers, bit for bit, for ibfast's own MLP), the
reductions' analytic facts, the capture's guarantees (modes restored, hooks gone, in-place
activations and AMP outputs handled, compiled models), checkpoints, every bad input, and the
digits CNN example end to end.
"""

from __future__ import annotations

import importlib.util
import io
import math
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("pandas")
from torch import nn  # noqa: E402

from ibfast.data import load_digits  # noqa: E402
from ibfast.experiment import Experiment, ExperimentConfig  # noqa: E402
from ibfast.monitor import (  # noqa: E402
    PCA,
    SATURATION_MARGIN_BITS,
    InfoPlaneRecorder,
    RandomProjection,
    recordable_layers,
)

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------------
# Fidelity: the recorder on ibfast's own MLP gives the experiment layer's numbers
# --------------------------------------------------------------------------------------------


class _MLPLayer(nn.Module):
    """Layer k of a one-seed SeedBatchedMLP as a module of its own: the same ops on the same
    tensors as SeedBatchedMLP.forward_features (feature-major baddbmm, then the activation; the
    softmax on the logits for the output layer), returning the (N, width) sample-major view."""

    def __init__(self, mlp: nn.Module, k: int) -> None:
        super().__init__()
        self._mlp = [mlp]  # a list: not registered as a submodule, the parameters stay the MLP's
        self.k = k

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        mlp, k = self._mlp[0], self.k
        z = torch.baddbmm(mlp.biases[k], mlp.weights[k], h.T.unsqueeze(0))
        if k == len(mlp.weights) - 1:
            return torch.softmax(z[0].T, dim=-1)
        return mlp.spec.fn(z)[0].T


class _MLPView(nn.Module):
    def __init__(self, mlp: nn.Module) -> None:
        super().__init__()
        self.layers = nn.ModuleList(_MLPLayer(mlp, k) for k in range(len(mlp.weights)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


def test_fidelity_with_the_experiment_layer_bit_for_bit() -> None:
    # record_timing "after": the experiment records epoch e after its updates, then calls
    # progress(e + 1): the model the recorder sees there is the one the experiment recorded
    cfg = ExperimentConfig(epochs=30, record_points=10, record_timing="after", seeds=(0,))
    exp = Experiment(cfg)
    probe = (torch.from_numpy(exp.dataset.x), torch.from_numpy(exp.dataset.y))
    box: dict[str, InfoPlaneRecorder] = {}

    def progress(done: int, total: int) -> None:
        if "rec" not in box:
            assert exp.model is not None
            box["rec"] = InfoPlaneRecorder(_MLPView(exp.model), [f"layers.{k}" for k in range(6)], probe,
                                           estimators=exp.estimators, epochs=list(exp.record))
        box["rec"].step(done - 1)

    df = exp.run(progress)
    rec = box["rec"].results
    assert len(rec) == len(df) == len(exp.record) * 6 * 2
    both = df.merge(rec, on=["epoch", "layer", "estimator"], suffixes=("_exp", "_rec"))
    assert len(both) == len(df)
    for col in ("i_xt", "i_ty", "h_t", "width", "is_output", "estimator_params"):
        assert (both[f"{col}_exp"] == both[f"{col}_rec"]).all(), col  # bit for bit
    assert (rec["reduce"] == "flatten").all()  # "auto" keeps layers this narrow whole
    assert (rec["d_raw"] == rec["d_used"]).all()


# --------------------------------------------------------------------------------------------
# A small CNN on the digits (the example's shape, smaller probe) for the other tests
# --------------------------------------------------------------------------------------------


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.act1 = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.act2 = nn.ReLU()
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act2(self.conv2(self.pool(self.act1(self.conv1(x)))))
        return self.fc(h.flatten(1))


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    d = load_digits()
    return torch.from_numpy(d.x[:400]).reshape(-1, 1, 8, 8), torch.from_numpy(d.y[:400])


@pytest.fixture
def cnn() -> SmallCNN:
    torch.manual_seed(0)
    return SmallCNN()


def _train_epoch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, opt: torch.optim.Optimizer) -> None:
    model.train()
    for a in range(0, x.shape[0], 100):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[a:a + 100]), y[a:a + 100]).backward()
        opt.step()


def test_reductions_d_used_and_the_log2_n_ceiling(cnn: SmallCNN, digits) -> None:
    x, y = digits
    reduce = {"conv1": "flatten", "act1": "gap", "conv2": "project:12", "act2": "pca:5"}
    rec = InfoPlaneRecorder(cnn, ["conv1", "act1", "conv2", "act2", "fc"], (x, y), reduce=reduce,
                            estimators=("ebab", "adaptive_kde_upper", "kde_upper"), batch_size=128)
    rec.record(0)
    df = rec.results
    per_layer = df.drop_duplicates("layer_name").set_index("layer_name")
    assert per_layer.loc["conv1", "d_raw"] == 8 * 8 * 8 and per_layer.loc["conv1", "d_used"] == 512
    assert per_layer.loc["act1", "d_used"] == 8 and per_layer.loc["act1", "reduce"] == "gap"
    assert per_layer.loc["conv2", "d_used"] == 12 and per_layer.loc["conv2", "d_raw"] == 16 * 4 * 4
    assert per_layer.loc["conv2", "reduce"] == "project(k=12,seed=0)"
    assert per_layer.loc["act2", "d_used"] == 5 and per_layer.loc["act2", "reduce"].startswith("pca(k=5")
    assert per_layer.loc["fc", "reduce"] == "flatten" and per_layer.loc["fc", "d_used"] == 10
    assert (df["width"] == df["d_used"]).all()
    assert per_layer.loc["fc", "is_output"] and not per_layer.loc["conv1", "is_output"]
    # every estimate is of I(X; f(T)) <= H(X) = log2 N, and the flag marks those at the ceiling
    ceiling = math.log2(x.shape[0])
    assert (df["i_xt"] <= ceiling + 1e-9).all()
    assert (df["saturated"] == (df["i_xt"] >= ceiling - SATURATION_MARGIN_BITS)).all()
    # 512 flattened units: every row distinct, the binned estimate is exactly log2 N
    row = df[(df["layer_name"] == "conv1") & (df["estimator"] == "ebab")].iloc[0]
    assert row["i_xt"] == pytest.approx(ceiling, abs=1e-12) and row["saturated"]


def test_projection_fixed_across_epochs_and_pca_fitted_once(cnn: SmallCNN, digits) -> None:
    x, y = digits
    rec = InfoPlaneRecorder(cnn, ["act1", "act2"], (x, y), reduce={"act1": "project:6", "act2": "pca:4"},
                            estimators=("ebab",), batch_size=150)
    rec.record(0)
    proj, pca = rec.reductions
    assert isinstance(proj, RandomProjection) and isinstance(pca, PCA)
    r0 = proj.matrix(8 * 8 * 8).clone()
    comps0 = pca.components.clone()
    opt = torch.optim.SGD(cnn.parameters(), lr=0.5)
    _train_epoch(cnn, x, y, opt)
    rec.record(1)
    assert torch.equal(proj.matrix(8 * 8 * 8), r0)  # the same projection every epoch
    assert torch.equal(pca.components, comps0)  # fitted at the first record, kept after
    # the projection is drawn from its own seed, not the global RNG: a fresh one equals it
    assert torch.equal(RandomProjection(6, seed=0).matrix(512), r0)
    # PCA's components are orthonormal and its rows the centred data projected on them
    assert torch.allclose(comps0.T @ comps0, torch.eye(4), atol=1e-5)
    with torch.no_grad():
        h = cnn.act2(cnn.conv2(cnn.pool(cnn.act1(cnn.conv1(x))))).flatten(1)
    assert pca(h).shape == (x.shape[0], 4)
    assert torch.allclose(pca(h), (h - pca.mean) @ comps0, atol=1e-5)


def test_capture_restores_modes_removes_hooks_and_copies_in_place_outputs(cnn: SmallCNN, digits) -> None:
    x, y = digits
    cnn.train()
    cnn.fc.eval()  # a user's own per-module choice stays as it was
    rec = InfoPlaneRecorder(cnn, ["conv1", "fc"], (x, y), reduce="flatten", estimators=("ebab",))
    calls = {"n": 0}
    cnn.register_forward_pre_hook(lambda m, a: calls.__setitem__("n", calls["n"] + 1))
    rec2 = InfoPlaneRecorder(cnn, ["conv1"], (x, y), every=5, estimators=("ebab",))
    for epoch in (1, 2, 3, 4):
        assert not rec2.step(epoch)  # not scheduled: no forward pass at all
    assert calls["n"] == 0
    rec.record(0)
    assert cnn.training and cnn.conv1.training and not cnn.fc.training
    assert all(not m._forward_hooks for m in (cnn.conv1, cnn.fc))
    # conv1's output is changed in place by act1 (ReLU(inplace=True)) later in the same pass; the
    # recorded matrix is conv1's output as it left conv1 (negative values kept)
    with torch.no_grad():
        want = cnn.conv1(x).flatten(1)
    assert rec.last_matrices is not None
    got = rec.last_matrices[0]
    assert (got < 0).any() and np.array_equal(got, want.numpy())


def test_amp_outputs_and_compiled_models(cnn: SmallCNN, digits) -> None:
    x, y = digits
    from torch._dynamo.testing import CompileCounter

    counter = CompileCounter()  # a backend that counts the graphs it is handed, compiling nothing
    compiled = torch.compile(cnn, backend=counter)  # an OptimizedModule: hooked via _orig_mod
    compiled(x[:50]).sum().backward()
    assert counter.frame_count == 1
    rec = InfoPlaneRecorder(compiled, ["_orig_mod.act1", "fc"], (x, y), estimators=("ebab",))
    assert rec.model is cnn and rec.layers[0] == ("act1", "act1")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        rec.record(0)
    compiled(x[:50]).sum().backward()
    assert counter.frame_count == 1  # the compiled training step was not recompiled
    assert rec.last_matrices is not None
    assert all(a.dtype == np.float32 for a in rec.last_matrices)
    df = rec.results
    assert np.isfinite(df["i_xt"]).all() and len(df) == 2


def test_state_dict_round_trip_keeps_records_and_fitted_pca(cnn: SmallCNN, digits) -> None:
    x, y = digits
    kwargs = {"reduce": "pca:3", "estimators": ("ebab",), "epochs": [0, 2, 4]}
    rec = InfoPlaneRecorder(cnn, ["act1"], (x, y), **kwargs)
    for epoch in range(3):
        rec.step(epoch, train_loss=0.5)
    buf = io.BytesIO()
    torch.save(rec.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)  # what Lightning's checkpoints go through
    resumed = InfoPlaneRecorder(cnn, ["act1"], (x, y), **kwargs)
    resumed.load_state_dict(state)
    assert resumed.recorded_epochs == [0, 2]
    assert not resumed.step(2)  # recorded before the checkpoint: not again
    assert torch.equal(resumed.reductions[0].components, rec.reductions[0].components)
    for epoch in range(3, 5):
        resumed.step(epoch)
        rec.step(epoch)
    a, b = rec.results, resumed.results
    assert list(a["epoch"]) == list(b["epoch"]) == [0, 2, 4]
    assert np.array_equal(a["i_xt"], b["i_xt"]) and a["train_loss"].iloc[0] == 0.5
    other = InfoPlaneRecorder(cnn, ["act2"], (x, y), **kwargs)
    with pytest.raises(ValueError, match="layers"):
        other.load_state_dict(state)


def test_background_estimation_gives_the_same_rows_in_order(cnn: SmallCNN, digits) -> None:
    x, y = digits
    opt = torch.optim.SGD(cnn.parameters(), lr=0.2)
    fg = InfoPlaneRecorder(cnn, ["act1", "fc"], (x, y), estimators=("ebab", "adaptive_kde_upper"))
    with InfoPlaneRecorder(cnn, ["act1", "fc"], (x, y), estimators=("ebab", "adaptive_kde_upper"),
                           background=True) as bg:
        for epoch in range(4):
            _train_epoch(cnn, x, y, opt)
            fg.step(epoch)
            bg.step(epoch)
    a, b = fg.results, bg.results
    assert list(b["epoch"]) == sorted(b["epoch"])
    assert a.equals(b)


def test_plots_and_analysis_read_the_table_unchanged(cnn: SmallCNN, digits, tmp_path: Path) -> None:
    import pandas as pd

    from ibfast.analysis import per_run
    from ibfast.analysis.claims import analysis_groups
    from ibfast.columns import run_keys
    from ibfast.plots import _tidy_settings, information_plane, plane_data

    x, y = digits
    opt = torch.optim.SGD(cnn.parameters(), lr=0.2)
    rec = InfoPlaneRecorder(cnn, {"act1": "c1", "act2": "c2", "fc": "out"}, (x, y), every=1,
                            reduce={"c1": "flatten", "c2": "gap"}, settings={"activation": "relu"})
    for epoch in range(4):
        _train_epoch(cnn, x, y, opt)
        rec.step(epoch, train_loss=1.0 / (epoch + 1), train_acc=0.5, test_loss=1.0, test_acc=0.4)
    df = rec.results
    runs = per_run(df)
    # one curve per layer and estimator: the descriptors are plain columns (d_raw varies by
    # layer, saturated by epoch) and split nothing
    assert {"layer_name", "reduce", "d_raw", "d_used", "saturated"} <= set(df.columns)
    assert isinstance(df.index, pd.RangeIndex)
    assert "saturated" not in run_keys(df)
    assert not set(_tidy_settings(df)) & {"layer_name", "reduce", "d_raw", "d_used", "saturated"}
    assert len(runs) == 3 * 2 and not runs.duplicated(["layer", "estimator"]).any()
    assert set(runs["layer"]) == {1, 2, 3}
    c1 = df.query("layer_name == 'c1' and estimator == 'ebab'")["i_xt"].to_numpy()
    row = runs[(runs["layer"] == 1) & (runs["estimator"] == "ebab")].iloc[0]
    assert c1.min() <= row["peak"] <= c1.max()
    plane = plane_data(df, "adaptive_kde_upper")
    assert len(plane) == 3 * 4 and set(plane["layer"]) == {1, 2, 3}
    paths = information_plane(df, "ebab", tmp_path / "plane.png")
    assert paths[0].stat().st_size > 1000
    # one analysis group per estimator: the layer descriptors do not split it
    assert sorted(label for label, _ in analysis_groups(runs)) == ["adaptive_kde_upper", "ebab"]
    # the same table written flat and read back plots and analyses alike
    df.to_csv(tmp_path / "planes.csv", index=False)
    back = pd.read_csv(tmp_path / "planes.csv")
    assert len(per_run(back)) == len(runs)
    assert len(plane_data(back, "adaptive_kde_upper")) == len(plane)


# --------------------------------------------------------------------------------------------
# Listing the layers
# --------------------------------------------------------------------------------------------


def test_recordable_layers_in_execution_order(cnn: SmallCNN, digits) -> None:
    x, _ = digits
    cnn.train()
    infos = recordable_layers(cnn, x[:2])
    assert [i.path for i in infos] == ["conv1", "act1", "pool", "conv2", "act2", "fc", ""]
    by = {i.path: i for i in infos}
    assert by["conv1"].shape == (8, 8, 8) and by["conv1"].d == 512 and by["fc"].d == 10
    assert all(i.recordable for i in infos) and cnn.training


class _Twice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Linear(64, 64), nn.Tanh())
        self.shared = nn.Linear(64, 64)
        self.lstm = nn.LSTM(64, 8, batch_first=True)
        self.head = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.block(x)
        h = self.shared(self.shared(h))  # one module at two depths
        self.lstm(h.unsqueeze(1))        # a tuple output
        return self.head(h)


# --------------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------------


def test_a_layer_that_does_not_exist_names_the_nearest(cnn: SmallCNN, digits) -> None:
    with pytest.raises(ValueError, match=r"'conv3' is not a module of SmallCNN; nearest: conv2, conv1"):
        InfoPlaneRecorder(cnn, ["conv3"], digits)
    with pytest.raises(ValueError, match="layers is empty"):
        InfoPlaneRecorder(cnn, [], digits)
    with pytest.raises(ValueError, match="reduce names layer 'fc'"):
        InfoPlaneRecorder(cnn, ["conv1"], digits, reduce={"fc": "gap"})
    with pytest.raises(ValueError, match="not a reduction"):
        InfoPlaneRecorder(cnn, ["conv1"], digits, reduce="mean")


def test_probe_labels_must_match_the_inputs(cnn: SmallCNN, digits) -> None:
    x, y = digits
    with pytest.raises(ValueError, match="400 inputs but 399 labels"):
        InfoPlaneRecorder(cnn, ["fc"], (x, y[:-1]))
    with pytest.raises(ValueError, match="one-hot"):
        InfoPlaneRecorder(cnn, ["fc"], (x, nn.functional.one_hot(y)))
    with pytest.raises(TypeError, match="integer class ids"):
        InfoPlaneRecorder(cnn, ["fc"], (x, y + 0.5))
    with pytest.raises(TypeError, match="probe must be"):
        InfoPlaneRecorder(cnn, ["fc"], x)
    shuffled = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=50, shuffle=True)
    with pytest.raises(ValueError, match="shuffle=False"):
        InfoPlaneRecorder(cnn, ["fc"], shuffled)


def test_a_module_called_twice_and_a_non_tensor_output(digits) -> None:
    x, y = digits
    model = _Twice()
    probe = (x.reshape(-1, 64), y)
    infos = {i.path: i for i in recordable_layers(model, probe[0][:2])}
    assert not infos["shared"].recordable and "2 times" in infos["shared"].why_not
    assert not infos["lstm"].recordable and "tuple" in infos["lstm"].why_not
    with pytest.raises(ValueError, match=r"'shared' \(Linear\) runs more than once.*enclosing block"):
        InfoPlaneRecorder(model, ["shared"], probe).record(0)
    with pytest.raises(TypeError, match=r"'lstm' \(LSTM\) returns a tuple, not a tensor"):
        InfoPlaneRecorder(model, ["lstm"], probe).record(0)
    model.train()
    with pytest.raises(ValueError):
        InfoPlaneRecorder(model, ["block", "shared"], probe).record(0)
    assert model.training and not model.shared._forward_hooks and not model.block._forward_hooks


def test_schedules_and_bad_arguments(cnn: SmallCNN, digits) -> None:
    rec = InfoPlaneRecorder(cnn, ["fc"], digits, epochs=8000)
    assert sum(rec.scheduled(e) for e in range(8000)) == 274  # the papers' log-spaced epochs
    assert InfoPlaneRecorder(cnn, ["fc"], digits, every=10).scheduled(20)
    assert not InfoPlaneRecorder(cnn, ["fc"], digits, epochs=[1, 5]).scheduled(2)
    with pytest.raises(ValueError, match="not both"):
        InfoPlaneRecorder(cnn, ["fc"], digits, epochs=10, every=2)
    with pytest.raises(ValueError, match="unknown metrics"):
        rec.record(0, val_loss=1.0)
    with pytest.raises(ValueError, match="unknown estimators"):
        InfoPlaneRecorder(cnn, ["fc"], digits, estimators=("nope",))
    with pytest.raises(ValueError, match="already recorded"):
        rec.record(1)
        rec.record(1)


# --------------------------------------------------------------------------------------------
# The examples end to end
# --------------------------------------------------------------------------------------------


def _load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"_example_{name}", ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_digits_cnn_example_end_to_end(tmp_path: Path) -> None:
    example = _load_example("digits_cnn")
    df, paths = example.run(epochs=4, out=tmp_path / "plane.png", points=4, verbose=False)
    flat = df
    assert sorted(flat["epoch"].unique()) == [0, 1, 3]  # log_spaced_epochs(4, 4)
    assert set(flat["layer_name"]) == {"conv1", "conv2", "fc1", "out"}
    conv = flat[flat["layer_name"].isin(["conv1", "conv2"])]
    assert (conv["reduce"] == "gap").all() and set(conv["d_used"]) == {16, 32}
    assert flat["test_acc"].notna().all() and (flat["test_acc"] > 0.1).all()
    assert [p.suffix for p in paths] == [".png", ".svg", ".png", ".svg"]
    assert all(p.stat().st_size > 1000 for p in paths)


def _write_idx(path: Path, arr: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    path.write_bytes(header + arr.astype(np.uint8).tobytes())


def test_mnist_idx_example_on_a_small_local_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for stem, n in (("train", 300), ("t10k", 200)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 60, (n, 28, 28)) + (labels[:, None, None] * 19)  # labels visible
        _write_idx(folder / f"{stem}-images-idx3-ubyte", images)
        _write_idx(folder / f"{stem}-labels-idx1-ubyte", labels)
    example = _load_example("mnist_idx")
    df, paths = example.run(folder, epochs=2, train_size=300, probe_size=150, out=tmp_path / "m.png",
                            verbose=False)
    flat = df
    assert set(flat["epoch"]) == {0, 1} and (flat.groupby("estimator").size() == 2 * 4).all()
    assert paths and all(p.exists() for p in paths)


def test_pca_of_a_wide_layer_finds_its_principal_subspace() -> None:
    # d > 4096: the seeded randomized SVD path; a rank-3 signal plus small noise
    gen = torch.Generator().manual_seed(1)
    basis = torch.linalg.qr(torch.randn(5000, 3, generator=gen))[0]
    scales = torch.tensor([10.0, 5.0, 2.0])
    x = (torch.randn(600, 3, generator=gen) * scales) @ basis.T + 0.01 * torch.randn(600, 5000, generator=gen)
    pca = PCA(3, fit_rows=600)
    pca.fit(x, 600)
    cosines = torch.linalg.svdvals(pca.components.T.double() @ basis.double())
    assert cosines.min() > 0.999  # the principal angles to the true subspace are ~0


def test_repeated_probe_inputs_with_input_ids_auto(cnn: SmallCNN, digits) -> None:
    x, y = digits
    twice = (torch.cat([x, x]), torch.cat([y, y]))  # 800 rows, 400 distinct inputs
    rec = InfoPlaneRecorder(cnn, ["conv1"], twice, reduce="flatten", estimators=("ebab",), input_ids="auto")
    assert rec.input_ids is not None and np.array_equal(rec.input_ids[:400], rec.input_ids[400:])
    rec.record(0)
    row = rec.results.iloc[0]
    # every distinct input is its own bin: I(X;T) = H(T) = log2 400, the ceiling for 400 inputs
    assert row["i_xt"] == pytest.approx(math.log2(400), abs=1e-9) and row["saturated"]
    assert InfoPlaneRecorder(cnn, ["conv1"], digits, input_ids="auto").input_ids is None


@pytest.mark.cuda
def test_on_a_gpu_activations_stay_on_the_device(cuda_device, digits) -> None:
    x, y = digits
    torch.manual_seed(0)
    cpu_model = SmallCNN()
    gpu_model = SmallCNN().to(cuda_device)
    gpu_model.load_state_dict(cpu_model.state_dict())
    layers = {"act1": "c1", "act2": "c2", "fc": "out"}
    reduce = {"c1": "gap", "c2": "project:8", "out": "flatten"}
    on_cpu = InfoPlaneRecorder(cpu_model, layers, (x, y), reduce=reduce)
    on_gpu = InfoPlaneRecorder(gpu_model, layers, (x, y), reduce=reduce)
    on_cpu.record(0)
    on_gpu.record(0)
    assert on_gpu.last_matrices is not None and all(t.is_cuda for t in on_gpu.last_matrices)
    a, b = on_cpu.results, on_gpu.results
    assert list(a["d_used"]) == list(b["d_used"])
    # the same layers to float rounding of the convolutions: the estimates agree closely
    assert np.allclose(a["i_xt"], b["i_xt"], atol=0.05) and np.allclose(a["i_ty"], b["i_ty"], atol=0.05)
