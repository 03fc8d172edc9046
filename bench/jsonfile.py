"""The benchmarks' one way to write a JSON file: whole or not at all (a temporary file, then an
atomic rename), so that a benchmark killed mid-write leaves the previous cache intact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_atomic(path: Path, data: Any, *, sort_keys: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=sort_keys) + "\n")
    tmp.replace(path)
