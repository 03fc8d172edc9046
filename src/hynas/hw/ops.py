"""The per-operator view of a network that every hardware cost model shares.

A model's cost is a list of :class:`OpCost` rows: one per operator as it executes (a convolution,
a pooling, an attention block, ...), with its FLOPs and the bytes it moves. The analytic counters
produce these lists from the architecture alone; the roofline model, the per-op lookup table and
the trust report consume them. ``kind`` + ``shape`` is the lookup-table key of the operator.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OpCost", "total"]


@dataclass(frozen=True)
class OpCost:
    name: str  # where it is, e.g. "stage1.cell0.edge2<-1"
    kind: str  # what it is, e.g. "nor_conv_3x3", "mbconv", "attention"
    shape: str  # canonical shape key, e.g. "c16_h32_s1"
    flops: float  # floating-point operations (a multiply-accumulate counts 2)
    bytes: float  # bytes read and written: inputs, outputs and weights at the model dtype
    params: int = 0


def total(ops: list[OpCost]) -> tuple[float, float, int]:
    """(FLOPs, bytes, params) summed over ``ops``."""
    return (sum(o.flops for o in ops), sum(o.bytes for o in ops), sum(o.params for o in ops))
