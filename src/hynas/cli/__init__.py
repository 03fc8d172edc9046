"""The ``hynas`` command line: search, show, report, list, and the ``hw`` and ``predictor`` groups.

Command groups are registered in :data:`COMMANDS` (name -> a factory of a typer app); a plug-in adds
its own group there (see ``docs/extending.md``) and :func:`main` mounts it. A plug-in that fails
to load is one ``warning:`` line on stderr.

Only this package (and :mod:`hynas.report`) imports typer and rich. Every user error is a
:class:`~hynas.core.errors.HynasError`; :func:`main` prints it as one line on stderr and exits with
status 2. Ctrl-C stops a search after the last committed trial (exit 130); re-running the same
command resumes it.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import typer
from rich.markup import escape
from typer.exceptions import TyperException

from hynas.cli import common, export, interop, rescore, search, show  # noqa: F401 - register their commands
from hynas.cli.common import SUBAPPS, app
from hynas.cli.convert import convert_app
from hynas.cli.hw import hw_app
from hynas.cli.predictor import predictor_app
from hynas.cli.supernet import supernet_app
from hynas.core.errors import HynasError
from hynas.core.registry import PluginWarning, Registry

__all__ = ["COMMANDS", "SUBAPPS", "add_command_groups", "app", "main"]

#: command groups: name -> factory of the group's typer app
COMMANDS: Registry[typer.Typer] = Registry("command group", typer.Typer)
for _name, _sub in (
    ("hw", hw_app),
    ("predictor", predictor_app),
    ("supernet", supernet_app),
    ("convert", convert_app),
):
    COMMANDS.add(_name, lambda _sub=_sub: _sub, _sub.info.help or "")
    app.add_typer(_sub, name=_name)  # the built-in groups are there for every caller of `app`


def add_command_groups() -> None:
    """Mount every registered command group (and the older :data:`SUBAPPS`) on :data:`app`."""
    groups = [(name, entry.factory) for name, entry in COMMANDS.items()]
    groups += [(name, lambda sub=sub: sub) for sub, name in SUBAPPS]
    for name, factory in groups:
        if not any(g.name == name for g in app.registered_groups):
            app.add_typer(factory(), name=name)


def _show_warning(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    if issubclass(category, PluginWarning):
        common.err_console.print(
            f"[yellow]warning:[/] {escape(str(message))}", highlight=False, soft_wrap=True
        )
    else:
        _default_show(message, category, *args, **kwargs)


_default_show = warnings.showwarning


def main() -> None:
    """Console entry point: one line per user error, never a traceback."""
    warnings.showwarning = _show_warning
    try:
        add_command_groups()
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
