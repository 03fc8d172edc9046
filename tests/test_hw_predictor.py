from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hynas.core.errors import HynasError
from hynas.hw.predictor import (
    FewShotLatencyPredictor,
    LatencyPredictor,
    features,
    hwnasbench_sources,
    structure_features,
)
from hynas.spaces import get_space

SP = get_space("nb201")
ALL = list(SP.enumerate())
RNG = np.random.default_rng(0)
# per-op costs (none, skip, conv1x1, conv3x3, pool) of three made-up source devices and a target
W = {
    "a": np.array([0.0, 0.1, 1.0, 4.0, 0.5]),
    "b": np.array([0.0, 0.3, 1.5, 3.0, 2.0]),
    "c": np.array([0.0, 0.2, 0.6, 6.0, 0.4]),
    "target": np.array([0.0, 1.0, 1.2, 2.0, 3.0]),  # pooling is expensive here: a different ranking
}


def _lat(dev: str, archs) -> np.ndarray:
    return np.array([1.0 + W[dev][list(a.genes)].sum() for a in archs])


def test_features_count_choices_and_connectivity():
    a = SP.parse("|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|")  # no path: disconnected
    b = SP.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
    s = structure_features(SP, [a, b])
    assert s.shape == (2, 6)
    assert s[0].tolist() == [5, 0, 0, 1, 0, 0] and s[1].tolist() == [4, 0, 0, 2, 0, 1]
    assert features(SP, [a, b]).shape == (2, 30 + 6)


def test_predictor_learns_latency_and_ranks_unseen_cells():
    idx = RNG.choice(len(ALL), 300, replace=False)
    train = [ALL[i] for i in idx[:200]]
    test = [ALL[i] for i in idx[200:]]
    for model in ("gbm", "mlp"):
        p = LatencyPredictor(SP, model).fit(train, _lat("a", train))
        pred = p.predict(test)
        assert stats.spearmanr(pred, _lat("a", test)).statistic > 0.95, model
        assert np.mean(np.abs(pred - _lat("a", test)) / _lat("a", test)) < 0.15, model


def test_predictor_bad_input_is_one_clear_error():
    archs = ALL[:5]
    with pytest.raises(HynasError, match="at least 10 measured architectures, got 5"):
        LatencyPredictor(SP).fit(archs, _lat("a", archs))
    with pytest.raises(HynasError, match="12 architectures but 11 latencies"):
        LatencyPredictor(SP).fit(ALL[:12], _lat("a", ALL[:11]))
    with pytest.raises(HynasError, match="finite and > 0"):
        LatencyPredictor(SP).fit(ALL[:12], -_lat("a", ALL[:12]))
    with pytest.raises(HynasError, match="unknown latency predictor model 'svm'; valid: gbm, mlp"):
        LatencyPredictor(SP, "svm")
    with pytest.raises(HynasError, match="not fitted"):
        LatencyPredictor(SP).predict(ALL[:2])


def test_few_shot_transfers_to_a_device_with_a_different_ranking():
    train = [ALL[i] for i in RNG.choice(len(ALL), 300, replace=False)]
    sources = {d: LatencyPredictor(SP).fit(train, _lat(d, train)) for d in ("a", "b", "c")}
    test = [ALL[i] for i in RNG.choice(len(ALL), 500, replace=False)]
    truth = _lat("target", test)
    best_source = max(stats.spearmanr(_lat(d, test), truth).statistic for d in ("a", "b", "c"))
    shots = [ALL[i] for i in RNG.choice(len(ALL), 10, replace=False)]
    fs = FewShotLatencyPredictor(SP, sources).adapt(shots, _lat("target", shots))
    rho = stats.spearmanr(fs.predict(test), truth).statistic
    assert rho > 0.9 and rho > best_source + 0.05, (rho, best_source)
    assert fs.k == 10


def test_few_shot_needs_enough_varied_samples():
    src = {"a": LatencyPredictor(SP).fit(ALL[:50], _lat("a", ALL[:50]))}
    fs = FewShotLatencyPredictor(SP, src)
    with pytest.raises(HynasError, match="not adapted"):
        fs.predict(ALL[:3])
    with pytest.raises(HynasError, match="at least 3 measured architectures, got 2"):
        fs.adapt(ALL[:2], [1.0, 2.0])
    with pytest.raises(HynasError, match="at least 3 distinct architectures"):
        fs.adapt([ALL[0]] * 4, [1.0, 1.0, 1.0, 1.0])
    with pytest.raises(HynasError, match="at least one pre-trained source"):
        FewShotLatencyPredictor(SP, {})
    with pytest.raises(HynasError, match="unknown HW-NAS-Bench device 'tpu'; valid: eyeriss"):
        hwnasbench_sources(exclude=["tpu"])


@pytest.mark.slow
def test_few_shot_on_hw_nas_bench_leave_one_device_out():
    from hynas.benchmarks.nb201 import load_table

    table = load_table()
    sources = hwnasbench_sources(exclude=["eyeriss"], n_train=1000)
    rng = np.random.default_rng(1)
    idx = rng.choice(len(ALL), 1010, replace=False)
    shots, test = idx[:10], idx[10:]
    y = table["latency@eyeriss"]
    fs = FewShotLatencyPredictor(SP, sources).adapt([ALL[i] for i in shots], y[shots])
    rho = stats.spearmanr(fs.predict([ALL[i] for i in test]), y[test]).statistic
    # the best single source device ranks eyeriss at about 0.75 (fpga)
    assert rho > 0.9
