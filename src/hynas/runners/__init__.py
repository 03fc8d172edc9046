"""Runners: where evaluations happen (strategies never evaluate)."""

from hynas.runners.sequential import run

__all__ = ["run"]
