"""What every ``hynas`` command shares: the typer app, the consoles, option and config-file parsing.

The command modules (:mod:`~hynas.cli.search`, :mod:`~hynas.cli.show`, :mod:`~hynas.cli.hw`,
:mod:`~hynas.cli.predictor`) read the consoles as ``common.console`` at call time, so a caller can
redirect them by assigning here.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from hynas.core.errors import HynasError

__all__ = ["SUBAPPS", "app", "console", "err_console", "load_config_file", "parse_options", "wide"]

app = typer.Typer(
    name="hynas",
    help="Hardware-aware neural architecture search: search a space for several objectives at once.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def wide() -> Console:
    """Piped or captured output has no terminal width: give architecture strings and names room."""
    return console if console.is_terminal else Console(width=max(console.width, 200))


#: command groups added from outside this package: (typer app, name); :func:`hynas.cli.main` adds them
SUBAPPS: list[tuple[typer.Typer, str]] = []


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise HynasError(f"option value {text[:30]!r}... is nested too deeply") from None


def parse_options(items: list[str] | None, what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise HynasError(f"malformed {what} {item!r}; expected KEY=VALUE, e.g. population=20")
        k, v = item.split("=", 1)
        out[k.strip()] = _parse_value(v.strip())
    return out


def load_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise HynasError(f"config file {str(path)!r} not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise HynasError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise HynasError(f"cannot read config file {str(path)!r}: {exc.strerror}") from None
    except RecursionError:
        raise HynasError(f"config file {str(path)!r} is nested too deeply to be a hynas config") from None
    return data
