"""The ``hynas`` command line: search, show, report, list, and the ``hw`` and ``predictor`` groups.

Only this package (and :mod:`hynas.report`) imports typer and rich. Every user error is a
:class:`~hynas.core.errors.HynasError`; :func:`main` prints it as one line on stderr and exits with
status 2. Ctrl-C stops a search after the last committed trial (exit 130); re-running the same
command resumes it.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape
from typer.exceptions import TyperException

from hynas.cli import common, export, interop, search, show  # noqa: F401 - register their commands
from hynas.cli.common import SUBAPPS, app
from hynas.cli.hw import hw_app
from hynas.cli.predictor import predictor_app
from hynas.cli.supernet import supernet_app
from hynas.core.errors import HynasError

__all__ = ["SUBAPPS", "app", "main"]

app.add_typer(hw_app, name="hw")
app.add_typer(predictor_app, name="predictor")
app.add_typer(supernet_app, name="supernet")


def main() -> None:
    """Console entry point: one line per user error, never a traceback."""
    for sub, name in SUBAPPS:
        if not any(g.name == name for g in app.registered_groups):
            app.add_typer(sub, name=name)
    try:
        code = app(standalone_mode=False)
    except HynasError as exc:
        _error_line(str(exc))
        sys.exit(2)
    except TyperException as exc:  # a usage error (bad flag or value): one line, not a box
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _error_line(f"{exc.format_message()}{hint}")
        sys.exit(getattr(exc, "exit_code", 2))
    except typer.Abort:
        _error_line("aborted")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _error_line(message: str) -> None:
    """One line on stderr, never wrapped; escaped: "pip install 'hynas[ray]'" is text, not markup."""
    common.err_console.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
