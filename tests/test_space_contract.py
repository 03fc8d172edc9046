"""Every registered space keeps the search-space contract (:mod:`hynas.testing.spaces`)."""

from __future__ import annotations

import pytest

from hynas.spaces import SPACES, get_space
from hynas.testing.spaces import check_space, check_space_model


@pytest.mark.parametrize("name", SPACES.names())
def test_space_contract(name):
    check_space(get_space(name))


@pytest.mark.parametrize("name", SPACES.names())
def test_space_builds_networks_that_match_the_analytic_count(name):
    if not check_space_model(get_space(name)):
        pytest.skip(f"space {name!r} builds no PyTorch networks")
