"""The ``hynas`` command in a real process, as a user runs it (``main()``: one line per error)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

HYNAS = [sys.executable, "-c", "from hynas.cli import main; main()"]


def run_cli(*args: str, timeout: float = 300, **kw: Any) -> subprocess.CompletedProcess:
    """Run ``hynas ARGS`` to the end, capturing its output as text."""
    return subprocess.run([*HYNAS, *args], capture_output=True, text=True, timeout=timeout, **kw)


def popen_cli(*args: str, **kw: Any) -> subprocess.Popen:
    """Start ``hynas ARGS`` with its output piped (for kills at chosen moments)."""
    return subprocess.Popen([*HYNAS, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def invoke_cli(args: list[str]) -> tuple[int, str]:
    """The CLI in-process the way ``main`` runs it: a HynasError becomes one line and exit 2; any
    other exception fails the calling test with the command that raised it."""
    from typer.testing import CliRunner

    from hynas.cli import app
    from hynas.core.errors import HynasError

    result = CliRunner().invoke(app, list(args), catch_exceptions=True)
    exc = result.exception
    if exc is None or isinstance(exc, SystemExit):
        return result.exit_code, result.output
    if isinstance(exc, HynasError):
        return 2, f"error: {exc}"
    raise AssertionError(f"traceback for {args!r}: {type(exc).__name__}: {exc}") from exc
