"""Per-row checksums (schema 3) and the checks that tell a damaged store from one written by
another hynas version.

Each finished trial row carries ``checksum``: a SHA-256 over every value of the row, written in the
same statement as the row. Reading a store recomputes it for every row, so a value changed outside
hynas (a flipped bit on disk, an edit) is reported instead of read back silently. The experiment
configuration has its own checksum (``meta.config_sum``). The told order (and, for a search, the
trial numbers) must be dense (0, 1, 2, ...): a gap means a deleted row (:func:`check_dense`, with
:func:`damaged`, lives in :mod:`hynas.core.store`, since every backend reports damage the same way).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from hynas.core.store import check_dense, damaged

__all__ = ["check_dense", "damaged", "row_checksum", "text_checksum"]

# value types of the trial columns, in the order of ``schema.COLUMNS``
_KINDS = ("i", "s", "s", "f?", "s", "s", "f", "s", "f", "f", "i", "i", "i", "s")


def _norm(kind: str, v: Any) -> Any:
    if v is None and kind == "f?":
        return None
    if kind == "i":
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"expected an integer, found {v!r}")
        return v
    if kind == "s":
        if not isinstance(v, str):
            raise ValueError(f"expected text, found {v!r}")
        return v
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"expected a number, found {v!r}")
    return float(v)


def row_checksum(values: Sequence[Any]) -> str:
    """Checksum of one trial row (values in ``schema.COLUMNS`` order, as bound or as read)."""
    norm = [_norm(k, v) for k, v in zip(_KINDS, values, strict=True)]
    return hashlib.sha256(json.dumps(norm).encode()).hexdigest()[:32]


def text_checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]
