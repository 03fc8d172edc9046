"""The runner contract suite (``hynas.testing.runners``) on every runner hynas ships: sequential, the
process pool and Ray (a real local cluster; skipped without the ``ray`` extra unless
HYNAS_REQUIRE_RAY=1)."""

from __future__ import annotations

import pytest

from extras import need_module
from hynas.testing.runners import RunnerContract


class TestSequential(RunnerContract):
    runner = "sequential"


class TestPool(RunnerContract):
    runner = "pool"
    slots = 2


@pytest.mark.slow
class TestRay(RunnerContract):
    runner = "ray"
    slots = 2

    def require(self) -> None:
        need_module("ray", "ray")
