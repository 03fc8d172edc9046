"""Runners: where evaluations happen (strategies never evaluate).

``run(experiment, store, options=RunOptions(...))`` drives a search on one of the backends:
sequential (in-process, the default), a local process pool (``workers > 1``) or Ray.
"""

from hynas.runners.base import RUNNERS, RunOptions
from hynas.runners.sequential import run

__all__ = ["RUNNERS", "RunOptions", "run"]
