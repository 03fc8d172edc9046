"""Differentiable and path-sampling NAS: DARTS (first and second order), PC-DARTS, GDAS, FBNet and
ProxylessNAS over mixed-operation supernets of the ``nb201`` cell and the ``mobile`` space, with a
hardware term (expected cost from any per-architecture cost model) in the loss.

A method is named like a strategy (``hynas search --strategy darts``); the runners hand its
experiment to :func:`hynas.differentiable.search.run_differentiable`, which trains the supernet and
writes one trial per epoch (the derived architecture) through the store contract. See
``docs/differentiable.md``. Importing this package loads no torch; the modules below it do:

- :mod:`~hynas.differentiable.method`: the methods' names and declared options
- :mod:`~hynas.differentiable.layout`: a space's slots and choices, decoding choices to an architecture
- :mod:`~hynas.differentiable.supernet`: mixed operations and the two supernets
- :mod:`~hynas.differentiable.rules`: gates, sampling, temperatures, DARTS' second-order step
- :mod:`~hynas.differentiable.cost`: per-operation cost tables and the hardware loss terms
- :mod:`~hynas.differentiable.search`: the training loop, store, checkpoint and resume
- :mod:`~hynas.differentiable.outputs`: the α history (JSON) and the operation-mix plot
"""

from __future__ import annotations

from hynas.differentiable.method import METHODS, DifferentiableMethod, is_method, make_method

__all__ = ["METHODS", "DifferentiableMethod", "is_method", "make_method"]
