from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hynas.benchmarks.nb201 import load_arch_strings
from hynas.core.errors import HynasError
from hynas.spaces import get_space
from hynas.spaces.nb201 import OPS

NB201 = get_space("nb201")


@given(st.lists(st.integers(0, 4), min_size=6, max_size=6))
@settings(max_examples=200, deadline=None)
def test_nb201_string_round_trip_and_official_index(genes):
    arch = NB201.make(genes)
    text = NB201.format(arch)
    assert NB201.parse(text) == arch
    idx = NB201.index(arch)
    assert load_arch_strings()[idx] == text
    assert NB201.from_index(idx) == arch


def test_nb201_known_cell_and_size():
    best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    assert NB201.index(NB201.parse(best)) == 6111
    assert NB201.size() == 15_625
    assert len(set(load_arch_strings())) == 15_625
    assert sum(1 for _ in NB201.enumerate()) == 15_625


def test_nb201_mutation_changes_exactly_one_edge():
    rng = np.random.default_rng(3)
    for _ in range(100):
        a = NB201.sample(rng)
        b = NB201.mutate(a, rng)
        assert sum(x != y for x, y in zip(a.genes, b.genes, strict=True)) == 1
    assert len(NB201.neighbours(a)) == 6 * (len(OPS) - 1)


def test_nb201_encodings():
    arch = NB201.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|")
    onehot = NB201.encode(arch, "onehot")
    assert onehot.shape == (30,) and onehot.sum() == 6
    path = NB201.encode(arch, "path")
    # live paths: 0->3 (avg_pool), 0->1->2->3 (conv3x3, skip, conv1x1); 0->2 is none, 1->3 is none
    assert path.shape == (84,) and path.sum() == 2
    assert set(NB201.encodings()) >= {"onehot", "path"}
    with pytest.raises(HynasError, match="no 'bogus' encoding"):
        NB201.encode(arch, "bogus")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "nor_conv_3x3",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|+|none~0|none~1|none~2|",
        "|conv9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
    ],
)
def test_nb201_malformed_strings_are_clear_errors(bad):
    with pytest.raises(HynasError, match="malformed NAS-Bench-201 arch string"):
        NB201.parse(bad)


def test_make_rejects_out_of_range_genes():
    with pytest.raises(HynasError, match="out of range"):
        NB201.make([0, 0, 0, 0, 0, 5])
    with pytest.raises(HynasError, match="expected 6 genes"):
        NB201.make([0, 0])
