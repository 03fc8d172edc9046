"""The differentiable methods by name, and their declared options (no torch imported here).

A method is a :class:`~hynas.core.strategy.Strategy` subclass so that an experiment configuration
naming it (``strategy = "darts"``) builds, checks its options, and reopens in ``hynas show``,
``report``, ``export`` and :func:`hynas.load` like any other; but it does not speak ask/tell: its
search is one training run (:func:`hynas.differentiable.search.run_differentiable`, which the
runners call for it). It is kept out of the ask/tell strategy registry, whose every member must
pass the ask/tell contract and the golden query sequences.

Methods (each module cites its paper): ``darts`` and ``darts2`` (first / second order), ``pcdarts``,
``gdas``, ``fbnet``, ``proxyless``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.strategy import Option, Strategy, check_options
from hynas.differentiable.cost import ESTIMATES, STYLES, TARGET_STYLES

__all__ = ["METHODS", "DifferentiableMethod", "is_method", "make_method"]

#: name -> (summary, default architecture learning rate, default hardware-term style, spaces)
METHODS: dict[str, tuple[str, float, str, tuple[str, ...]]] = {
    "darts": ("DARTS, first order (Liu et al., ICLR 2019)", 3e-4, "additive", ("nb201", "mobile")),
    "darts2": ("DARTS, second order: unrolled bilevel gradient (Liu et al., ICLR 2019)", 3e-4, "additive", ("nb201", "mobile")),
    "pcdarts": ("PC-DARTS: partial channels + edge normalisation (Xu et al., ICLR 2020)", 6e-4, "additive", ("nb201",)),
    "gdas": ("GDAS: Gumbel-softmax, one sampled path (Dong & Yang, CVPR 2019)", 3e-4, "additive", ("nb201", "mobile")),
    "fbnet": ("FBNet: Gumbel-softmax mixture + latency (Wu et al., CVPR 2019)", 1e-2, "multiplicative", ("nb201", "mobile")),
    "proxyless": ("ProxylessNAS: binarised paths, two per step (Cai et al., ICLR 2019)", 6e-3, "additive", ("nb201", "mobile")),
}  # fmt: skip


class DifferentiableMethod(Strategy):
    """One differentiable method and its options; see the module docstring."""

    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("data", "str", "fashion-mnist", "images the supernet trains on (load_images source)"),
        Option("batch", "int", 64, "images per step", low=1, high=4096),
        Option("steps", "int", None, "steps per epoch (default: one pass over train_images)", low=1, high=10**7, none=True),
        Option("train_images", "int", 10000, "training images for the weights (first of the train split)", low=1, high=10**7),
        Option("val_images", "int", 5000, "validation images for the architecture (first of the val split)", low=1, high=10**7),
        Option("eval_images", "int", 1000, "last validation images: the one-shot score (disjoint from val_images)", low=1, high=10**7),
        Option("channels", "int", 8, "nb201: channels of the first stage", low=1, high=256),
        Option("cells", "int", 1, "nb201: cells per stage", low=1, high=8),
        Option("resolution", "int", None, "mobile: the fixed input resolution (default the smallest)", low=1, high=4096, none=True),
        Option("resolution_scale", "float", 0.25, "mobile: training pixels per deployed pixel", low=0.0, high=1.0, low_open=True),
        Option("w_lr", "float", 0.025, "weight learning rate (SGD, cosine to 0)", low=0.0, low_open=True),
        Option("w_momentum", "float", 0.9, "weight SGD momentum", low=0.0, high=1.0, high_open=True),
        Option("w_decay", "float", 3e-4, "weight decay of the weights", low=0.0),
        Option("arch_lr", "float", None, "architecture learning rate (Adam; default per method)", none=True, low=0.0, low_open=True),
        Option("arch_decay", "float", 1e-3, "weight decay of the architecture weights", low=0.0),
        Option("arch_schedule", "str", "constant", "architecture learning rate over the steps: constant, or cosine to 0 (α comes to rest, so the last epoch's derived network is not one swing of a noisy gradient)",
               choices=("constant", "cosine")),
        Option("xi", "float", None, "darts2: virtual step size (default w_lr)", none=True, low=0.0),
        Option("partial", "int", 4, "pcdarts: 1/K of the channels go through the operations", low=1, high=64),
        Option("tau_max", "float", None, "gdas/fbnet: first Gumbel temperature (default 10 / 5)", none=True, low=0.0, low_open=True),
        Option("tau_min", "float", 0.1, "gdas/fbnet: last Gumbel temperature", low=0.0, low_open=True),
        Option("warmup", "int", 0, "epochs that train the weights only", low=0, high=10**6),
        Option("cost", "str", None, "hardware term: a cost metric, e.g. latency@roofline:raspi4", none=True),
        Option("cost_style", "str", None, "additive (ProxylessNAS) or multiplicative (FBNet); default per method",
               choices=STYLES, none=True),
        Option("cost_weight", "float", 1.0, "λ of the hardware term", low=0.0),
        Option("cost_beta", "float", 0.6, "β of the multiplicative term", low=0.0),
        Option("target", "float", None, "target cost: only a network above it is penalised", none=True, low=0.0, low_open=True),
        Option("target_style", "str", "hinge", "hinge: penalise a network above the target; absolute: above or below it (TuNAS)",
               choices=TARGET_STYLES),
        Option("cost_estimate", "str", "expected", "expected: the penalty of the expected cost (FBNet, ProxylessNAS); sampled: the expected penalty of sampled networks (TuNAS); derived: the derived network's penalty (straight-through)",
               choices=ESTIMATES),
        Option("cost_samples", "int", 64, "networks drawn per step for cost_estimate=sampled", low=2, high=10**6),
        Option("entropy", "float", 0.0, "weight of α's entropy in the architecture loss, ramped up from 0 over the epochs (sharpens α, so the derived network is the one the cost term saw)", low=0.0),
        Option("threads", "int", 1, "CPU threads of torch", low=1, high=1024),
    )  # fmt: skip

    def __init__(self, method: str, **options: Any) -> None:
        if method not in METHODS:
            raise HynasError(f"unknown differentiable method {method!r}; valid: {', '.join(METHODS)}")
        check_options(method, self.OPTIONS, options)
        self.name = method
        defaults = {o.name: o.default for o in self.OPTIONS}
        self.options: dict[str, Any] = {**defaults, **options}
        _summary, arch_lr, style, self.spaces = METHODS[method]
        if self.options["arch_lr"] is None:
            self.options["arch_lr"] = arch_lr
        if self.options["cost_style"] is None:
            self.options["cost_style"] = style
        if self.options["tau_max"] is None:
            self.options["tau_max"] = 5.0 if method == "fbnet" else 10.0
        if self.options["xi"] is None:
            self.options["xi"] = self.options["w_lr"]
        if self.options["target"] is not None and self.options["cost"] is None:
            raise HynasError(f"{method}: option target needs option cost (the metric the target is in)")
        for opt in ("cost_estimate", "cost_samples"):
            if opt in options and self.options["cost"] is None:
                raise HynasError(f"{method}: option {opt} needs option cost (the hardware term it estimates)")
        if "target_style" in options and self.options["target"] is None:
            raise HynasError(f"{method}: option target_style needs option target (the cost to land on)")
        if self.options["eval_images"] + self.options["val_images"] > 10**7:
            raise HynasError(f"{method}: val_images + eval_images is too large")

    def propose(self) -> Architecture:
        raise HynasError(
            f"{self.name} is a differentiable method: it trains a supernet instead of proposing "
            "architectures one at a time; run it with `hynas search --strategy "
            f"{self.name}` or hynas.search(strategy={self.name!r})"
        )


def is_method(name: str) -> bool:
    return name in METHODS


def make_method(name: str, **options: Any) -> DifferentiableMethod:
    """The method called ``name`` with ``options`` (checked)."""
    return DifferentiableMethod(name, **options)
