from __future__ import annotations

import os

import pytest

# keep torch-based tests light and deterministic on the 2-core CI machine
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def store_path(tmp_path):
    return str(tmp_path / "run.db")
