from __future__ import annotations

import os

import pytest

# keep torch-based tests light and deterministic on the 2-core CI machine
os.environ.setdefault("OMP_NUM_THREADS", "1")
# the same floating-point results on every x86 CPU: MKL otherwise picks its code path by CPU model,
# and the predictor-driven strategies (bananas) then ask different architectures on different
# machines (tests/test_golden_sequences.py). Read by MKL when torch first calls it, so set here,
# before any test imports torch; subprocesses inherit it.
os.environ.setdefault("MKL_CBWR", "COMPATIBLE")


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path):
    """A fresh store on every backend: an SQLite file, and a PostgreSQL schema (skipped without a
    server unless HYNAS_REQUIRE_POSTGRES=1)."""
    from pg_util import drop, pg_store_url

    if request.param == "sqlite":
        yield str(tmp_path / "s.db")
        return
    url = pg_store_url()
    yield url
    drop(url)


@pytest.fixture
def store_path(tmp_path):
    return str(tmp_path / "run.db")
