"""The stratified split: the default for data other than the 12-bit task (whose split and task ids
stay as they were), and the warning when a split leaves a class out of a part."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ibfast.data import Dataset, load_digits, split_indices
from ibfast.experiment import Experiment, ExperimentConfig
from ibfast.experiment.from_config import run_columns
from ibfast.sweep.tasks import Task

torch = pytest.importorskip("torch")


def _sorted_labels(n_classes=10, per_class=30):
    return np.repeat(np.arange(n_classes), per_class)


def test_stratified_split_keeps_every_class_in_both_parts_at_its_share():
    y = _sorted_labels()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no class left out: no warning
        train, test = split_indices(y.size, 0.8, "stratified", seed=3, labels=y)
    assert np.array_equal(np.bincount(y[train]), np.full(10, 24))
    assert np.array_equal(np.bincount(y[test]), np.full(10, 6))
    assert np.array_equal(np.sort(np.r_[train, test]), np.arange(y.size))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    again, _ = split_indices(y.size, 0.8, "stratified", seed=3, labels=y)
    assert np.array_equal(train, again)  # seeded
    assert not np.array_equal(train, split_indices(y.size, 0.8, "stratified", seed=4, labels=y)[0])
    # a class of two samples still gets one in each part, however small the fraction
    y2 = np.r_[np.zeros(50, int), 1, 1]
    tr, te = split_indices(y2.size, 0.9, "stratified", labels=y2)
    assert set(y2[tr]) == {0, 1} and set(y2[te]) == {0, 1}


def test_ordered_split_of_class_sorted_data_warns():
    y = _sorted_labels()
    with pytest.warns(UserWarning) as caught:
        split_indices(y.size, 0.8, False, labels=y)
    assert len(caught) == 1  # one warning per split, naming both parts
    message = str(caught[0].message)
    assert "ordered split leaves 2 of 10 classes out of the train part (class 8, 9)" in message
    assert "8 of 10 classes out of the test part (class 0, 1, 2, 3, 4, 5, 6, 7)" in message
    assert "stratified" in message
    y1 = np.r_[np.zeros(20, int), 1]  # a single-sample class: only one part can hold it
    with pytest.warns(UserWarning, match=r"stratified split leaves 1 of 2 classes out of the test part"):
        split_indices(y1.size, 0.8, "stratified", labels=y1)


def test_split_arguments_are_checked():
    with pytest.raises(ValueError, match="needs the labels"):
        split_indices(10, 0.8, "stratified")
    with pytest.raises(ValueError, match="True, False or 'stratified'"):
        split_indices(10, 0.8, "random")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"labels must have shape \(10,\)"):
        split_indices(10, 0.8, True, labels=np.zeros(9))


def test_config_default_split_by_data():
    assert ExperimentConfig().shuffle_split is False  # 12-bit, authors: ordered, as before
    assert ExperimentConfig(protocol="ibfast").shuffle_split is True
    for protocol in ("authors", "ibfast"):
        c = ExperimentConfig(data="digits", protocol=protocol)
        assert c.shuffle_split == "stratified" and c.protocol_label() == protocol
    explicit = ExperimentConfig(data="digits", shuffle_split=False)  # still available, labelled
    assert explicit.shuffle_split is False and explicit.protocol_label() == "custom"
    assert "split_from_protocol" not in ExperimentConfig().to_dict()  # never in a task id


def test_twelve_bit_task_ids_do_not_change():
    # pinned before the stratified default: the 12-bit configurations' ids are unchanged
    ids = {p: Task(ExperimentConfig(protocol=p)).task_id for p in ("authors", "ibfast")}
    assert Task(ExperimentConfig(shuffle_split=False)).task_id == ids["authors"]
    assert Task(ExperimentConfig.from_dict(Task(ExperimentConfig()).plain())).task_id == ids["authors"]
    # a digits config now stores "stratified"; its explicit ordered split keeps the old id
    ordered = Task(ExperimentConfig(data="digits", shuffle_split=False))
    assert ordered.plain()["shuffle_split"] is False
    assert Task(ExperimentConfig(data="digits")).task_id != ordered.task_id


def test_digits_experiment_uses_the_stratified_split():
    c = ExperimentConfig(data="digits", epochs=1, seeds=(0,), hidden=(4,), record_epochs=(0,),
                         estimators=("ebab",), batch_size=64)
    exp = Experiment(c)
    y = exp.dataset.y
    assert set(y[exp.test_idx]) == set(range(10))
    shares = np.bincount(y[exp.test_idx]) / np.bincount(y)
    assert np.all(np.abs(shares - 0.2) < 0.03)
    assert run_columns(c, exp.dataset)["split"] == "stratified"


def test_a_user_data_set_gets_the_stratified_split_and_class_sorted_ordered_warns():
    digits = load_digits()
    order = np.argsort(digits.y, kind="stable")  # class-sorted, as many files are
    data = Dataset("mine", digits.x[order], digits.y[order], 10)
    base = dict(epochs=1, seeds=(0,), hidden=(4,), record_epochs=(0,), estimators=("ebab",), batch_size=64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exp = Experiment(ExperimentConfig(**base), data)  # the default config names the 12-bit task
    assert exp.split == "stratified" and set(data.y[exp.test_idx]) == set(range(10))
    df = exp.run()
    assert set(df["split"]) == {"stratified"}
    with pytest.warns(UserWarning, match=r"ordered split leaves 2 of 10 classes out of the train part"):
        ordered = Experiment(ExperimentConfig(**base, shuffle_split=False), data)
    assert ordered.split is False
