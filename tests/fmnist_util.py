"""Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` (``.ci/run`` installs it and makes
it mandatory with ``HYNAS_REQUIRE_FMNIST=1``)."""

from __future__ import annotations

import os

import pytest

from hynas.core.errors import HynasError

REQUIRED = os.environ.get("HYNAS_REQUIRE_FMNIST") == "1"


def need_fmnist() -> None:
    """Skip the calling test when the Fashion-MNIST files are absent (fail when CI requires them)."""
    from hynas.evaluators.vision import find_fmnist

    try:
        find_fmnist()
    except HynasError as exc:
        if REQUIRED:
            pytest.fail(f"HYNAS_REQUIRE_FMNIST=1 but {exc}")
        pytest.skip(str(exc))
