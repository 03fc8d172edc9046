"""The one exception type users see.

Every problem caused by user input (an unknown name, a malformed string, a foreign store) raises
:class:`HynasError` with a message that names the problem and how to fix it. The CLI prints that
message on one line and exits non-zero; anything else is a bug in hynas.
"""

from __future__ import annotations

__all__ = ["HynasError"]


class HynasError(Exception):
    """A user-facing error: the message says what is wrong and how to fix it."""
