"""Optional command groups and registrations, imported by the CLI at start-up.

Each capability that adds a ``hynas <group>`` command appends ``(typer_app, name)`` to
``hynas.cli.SUBAPPS`` in its own module and is imported here.
"""

from __future__ import annotations

import importlib

_MODULES: tuple[str, ...] = ()
for _mod in _MODULES:
    importlib.import_module(_mod)
