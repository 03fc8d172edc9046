"""Progress inside one trial: an evaluator that trains reports its step and loss here, and whoever
shows progress (the ``hynas search`` bar) listens.

One listener per process, set with :func:`listening`; with none set, :func:`report` costs one read
of a global, so evaluators call it on every step. Trials evaluated in worker processes (the pool
and Ray runners) have no listener: their progress shows when they finish.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Listener", "listening", "report"]

#: called with (step, of steps, loss) from the thread that runs the trial
Listener = Callable[[int, int, float], None]

_listener: Listener | None = None
_lock = threading.Lock()


def report(step: int, total: int, loss: Any) -> None:
    """Step ``step`` of ``total`` is done with training loss ``loss`` (a float or 0-d tensor,
    converted only when someone listens)."""
    listener = _listener
    if listener is not None:
        listener(step, total, float(loss.detach() if hasattr(loss, "detach") else loss))


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send every :func:`report` of this process to ``listener`` while the block runs."""
    global _listener
    with _lock:
        previous, _listener = _listener, listener
    try:
        yield
    finally:
        with _lock:
            _listener = previous
