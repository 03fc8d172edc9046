"""Tests that need an optional extra skip cleanly without it, unless ``HYNAS_REQUIRE_<NAME>=1`` says
they must run (``.ci/run`` installs every extra and sets these)."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def required(name: str) -> bool:
    """Whether ``HYNAS_REQUIRE_<NAME>=1`` makes the tests of this extra mandatory."""
    return os.environ.get(f"HYNAS_REQUIRE_{name.upper()}") == "1"


def need_module(module: str, extra: str) -> ModuleType:
    """Import ``module`` or skip the calling test (fail when ``HYNAS_REQUIRE_<EXTRA>=1``)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        why = f"{module} is not installed (pip install 'hynas[{extra}]')"
        if required(extra):
            pytest.fail(f"HYNAS_REQUIRE_{extra.upper()}=1 but {why}")
        pytest.skip(why)
