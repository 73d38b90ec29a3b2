"""Pinned values: estimates and a short experiment, recorded (as exact hex floats) before the
estimator-contract refactor. Refactors must leave every number bit-identical; a change in
arithmetic that moves one of these is a deliberate decision, made by regenerating them.
"""

from __future__ import annotations

import numpy as np
import pytest

import ibfast
from ibfast.demo import demo_layers

_h = float.fromhex

ESTIMATES = {
    'fixed_range': [
        (_h('0x1.16f9da75d1421p+3'), _h('0x1.308890ee01668p-3'), _h('0x1.16f9da75d1421p+3')),
        (_h('0x1.ba7541ab306a8p+2'), _h('0x1.4e4f16c53e9c2p-5'), _h('0x1.ba7541ab306a8p+2')),
        (_h('0x1.aa602ee04ad0dp+1'), _h('0x1.e657e4fe9309dp-9'), _h('0x1.aa602ee04ad0dp+1')),
        (_h('0x1.012b35e00f96fp+3'), _h('0x1.8b9dd96ced844p+0'), _h('0x1.24ef6de7997f2p+3')),
    ],
    'bin_width': [
        (_h('0x1.166e6a0591f2bp+3'), _h('0x1.3d3f978a806e2p-3'), _h('0x1.166e6a0591f2bp+3')),
        (_h('0x1.b70297543fd58p+2'), _h('0x1.7295f56bb3de4p-5'), _h('0x1.b70297543fd58p+2')),
        (_h('0x1.954c868fe841ap+1'), _h('0x1.8153079651abcp-10'), _h('0x1.954c868fe841ap+1')),
        (_h('0x1.019b844cc94f3p+3'), _h('0x1.8e1b3586c0676p+0'), _h('0x1.255fbc5453376p+3')),
    ],
    'adaptive_range': [
        (_h('0x1.5777a0db5b31bp+3'), _h('0x1.02f8ff9ea83efp-1'), _h('0x1.5777a0db5b31bp+3')),
        (_h('0x1.4637c03618592p+3'), _h('0x1.77bef40fac031p-2'), _h('0x1.4637c03618592p+3')),
        (_h('0x1.1c470158a9828p+2'), _h('0x1.12b6d352cde05p-8'), _h('0x1.1c470158a9828p+2')),
        (_h('0x1.ff5a8a23b1502p+2'), _h('0x1.8547506d40423p+0'), _h('0x1.23717d1962904p+3')),
    ],
    'ebab': [
        (_h('0x1.7821eb4c3e14cp+3'), _h('0x1.c150b1d8396f3p-1'), _h('0x1.7821eb4c3e14cp+3')),
        (_h('0x1.5dd3ec582d3d1p+3'), _h('0x1.26d7f86db8177p-1'), _h('0x1.5dd3ec582d3d1p+3')),
        (_h('0x1.2bb378541b7f9p+2'), _h('0x1.e77baa930d55bp-7'), _h('0x1.2bb378541b7f9p+2')),
        (_h('0x1.0266a61f2b221p+3'), _h('0x1.8fd2a335703e3p+0'), _h('0x1.262ade26b50a4p+3')),
    ],
    'kde_upper': [
        (_h('0x1.f802ceb3d908cp+2'), _h('0x1.71dd59c3de137p-4'), _h('-0x1.ef1b1c89a529ap+1')),
        (_h('0x1.8e552cc916c97p+2'), _h('0x1.dec5860096646p-6'), _h('-0x1.4aae31e2d3d97p+1')),
        (_h('0x1.50c5b985d1c64p+1'), _h('0x1.011f05d1943b1p-9'), _h('-0x1.9ecaa372d9d75p+1')),
        (_h('0x1.255bc3cdb5f3ep+3'), _h('0x1.8d716758bb9e8p+0'), _h('-0x1.6c428d8be0360p+3')),
    ],
    'kde_lower': [
        (_h('0x1.436c0d1233bcfp+2'), _h('0x1.9db377427c833p-7'), _h('-0x1.ac244fe677e0ap+2')),
        (_h('0x1.e0a736938042fp+1'), _h('0x1.312022eea14a8p-8'), _h('-0x1.4358aa70c094bp+2')),
        (_h('0x1.b2f92533b8c68p+0'), _h('0x1.2539b33902ebap-10'), _h('-0x1.0b09e52f679d3p+2')),
        (_h('0x1.24016a3c430e3p+3'), _h('0x1.87f4dc69a5fe0p+0'), _h('-0x1.6d9ce71d531bbp+3')),
    ],
    'adaptive_kde_upper': [
        (_h('0x1.16d0094789e44p+3'), _h('0x1.3d1be1192c6b1p-3'), _h('-0x1.0d4a694c4d2a2p+2')),
        (_h('0x1.ef6614d671f4fp+2'), _h('0x1.5682b6dade57ap-4'), _h('-0x1.61004cf0bec96p+1')),
        (_h('0x1.6d169d94be216p+1'), _h('0x1.31125cd450fbcp-9'), _h('-0x1.bcdfe55f56ce8p+1')),
        (_h('0x1.241efb4d1528dp+3'), _h('0x1.8874cd8ac224bp+0'), _h('-0x1.3171b86dec7f1p+2')),
    ],
    'adaptive_kde_lower': [
        (_h('0x1.76eb23b8e93d6p+2'), _h('0x1.7261e1945455ep-6'), _h('-0x1.c3ff582277b55p+2')),
        (_h('0x1.45bb5e0a2a0a0p+2'), _h('0x1.aafeb88585f4ep-7'), _h('-0x1.5a2add44a74fap+2')),
        (_h('0x1.e78be8f1ca0b8p+0'), _h('0x1.3bf91e2c5fc18p-10'), _h('-0x1.1b18473d97f51p+2')),
        (_h('0x1.1f3db1c7f950ap+3'), _h('0x1.7376d09215ceap+0'), _h('-0x1.3b344b78242f6p+2')),
    ],
}
EXPERIMENT = [  # (estimator, seed, layer, i_xt, i_ty, test_acc) at epoch 29
    ('adaptive_kde_upper', 0, 2,
     _h('0x1.77b0a35e63635p+3'), _h('0x1.d2083302b5b69p-1'), _h('0x1.4f14f20000000p-1')),
    ('adaptive_kde_upper', 0, 5,
     _h('0x1.22dcb754086ebp+2'), _h('0x1.3f13a0d4f80f6p-3'), _h('0x1.4f14f20000000p-1')),
    ('adaptive_kde_upper', 1, 2,
     _h('0x1.79d94c46d8647p+3'), _h('0x1.dc6030157cccbp-1'), _h('0x1.5f55f60000000p-1')),
    ('adaptive_kde_upper', 1, 5,
     _h('0x1.46c4c5e2aa969p+2'), _h('0x1.b94ab5c6fef99p-3'), _h('0x1.5f55f60000000p-1')),
    ('ebab', 0, 2, _h('0x1.7de771b308011p+3'), _h('0x1.f641c4a1321a6p-1'), _h('0x1.4f14f20000000p-1')),
    ('ebab', 0, 5, _h('0x1.c215d44f7989cp+2'), _h('0x1.99a80c779267ep-3'), _h('0x1.4f14f20000000p-1')),
    ('ebab', 1, 2, _h('0x1.7f55f5fd8a906p+3'), _h('0x1.fc3546cdef9afp-1'), _h('0x1.5f55f60000000p-1')),
    ('ebab', 1, 5, _h('0x1.d268bc54bbe99p+2'), _h('0x1.4405fc4b70d91p-2'), _h('0x1.5f55f60000000p-1')),
]


def _estimators() -> dict[str, object]:
    return {
        "fixed_range": ibfast.FixedRange(), "bin_width": ibfast.BinWidth(),
        "adaptive_range": ibfast.AdaptiveRange(), "ebab": ibfast.EBAB(),
        "kde_upper": ibfast.KDE(), "kde_lower": ibfast.KDE(bound="lower"),
        "adaptive_kde_upper": ibfast.AdaptiveKDE(),
        "adaptive_kde_lower": ibfast.AdaptiveKDE(bound="lower"),
    }


@pytest.mark.parametrize("name", sorted(ESTIMATES))
def test_estimates_are_bit_identical_to_the_pinned_values(name):
    layers, labels = demo_layers(3)
    rng = np.random.default_rng(11)
    relu = np.maximum(rng.standard_normal((600, 7)), 0).astype(np.float32)
    ylab = rng.integers(0, 3, 600)
    ids = rng.integers(0, 400, 600)
    est = _estimators()[name]
    got = [est(layers[k], labels) for k in (3, 4, 5)] + [est(relu, ylab, input_ids=ids)]
    for r, expected in zip(got, ESTIMATES[name], strict=True):
        assert (r.i_xt, r.i_ty, r.h_t) == expected


def test_a_short_experiment_is_bit_identical_to_the_pinned_values():
    pytest.importorskip("torch")
    from ibfast.experiment import Experiment, ExperimentConfig

    cfg = ExperimentConfig(activation="relu", seeds=(0, 1), epochs=30, record_epochs=(0, 9, 29),
                           estimators=("ebab", "adaptive_kde_upper"), hidden=(10, 7, 5, 4, 3),
                           protocol="ibfast")
    df = Experiment(cfg).run()
    sel = df[(df.epoch == 29) & (df.layer.isin([2, 5]))].sort_values(["estimator", "seed", "layer"])
    got = [(r.estimator, r.seed, r.layer, r.i_xt, r.i_ty, r.test_acc) for r in sel.itertuples()]
    assert got == EXPERIMENT
