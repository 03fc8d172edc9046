"""The per-operator view of a network that every hardware cost model shares.

A model's cost is a list of :class:`OpCost` rows: one per operator as it executes (a convolution,
a pooling, an attention block, ...), with its FLOPs and the bytes it moves. A space produces these
rows from the architecture alone (:meth:`hynas.core.space.SearchSpace.op_graph` fills an
:class:`OpGraph`); the analytic counters, the roofline model, the per-op lookup table and the trust
report consume them. ``kind`` + ``shape`` is the lookup-table key of the operator.

Conventions (the same as ``torch.utils.flop_counter.FlopCounterMode``): FLOPs count the
multiply-accumulates of convolutions and linear layers, two FLOPs each; biases, normalisation,
activations, pooling and additions count 0 FLOPs (they are memory-bound and show up in ``bytes``).
``bytes`` is what each fused kernel reads and writes: input and output feature maps and weights at
``dtype_bytes`` each. Peak activation memory (:meth:`OpGraph.peak`) follows the MCUNet convention:
each tensor is freed after its last use and the peak is the largest total size of feature maps
alive at once (weights excluded).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["GraphOp", "OpCost", "OpGraph", "conv_out", "total"]


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


def conv_out(h: int, kernel: int, stride: int) -> int:
    """Output size of a 'same'-padded convolution of ``kernel`` and ``stride`` on ``h`` pixels."""
    return (h + 2 * (kernel // 2) - kernel) // stride + 1


@dataclass
class GraphOp:
    """One operator of an :class:`OpGraph`: its cost and the feature maps it reads and writes."""

    cost: OpCost
    inputs: tuple[str, ...]
    output: str
    work: float  # bytes of feature maps alive during the op (its inputs and output included)


@dataclass
class OpGraph:
    """Accumulates operators and the feature maps between them (sizes in bytes).

    A space's :meth:`~hynas.core.space.SearchSpace.op_graph` declares feature maps with
    :meth:`fmap` and operators with :meth:`add`, in execution order.
    """

    batch: int
    dtype_bytes: int
    ops: list[GraphOp] = field(default_factory=list)
    sizes: dict[str, float] = field(default_factory=dict)

    def fmap(self, name: str, c: int, h: int) -> str:
        """Declare a ``c``-channel ``h``×``h`` feature map called ``name``."""
        self.sizes[name] = float(self.batch * c * h * h * self.dtype_bytes)
        return name

    def add(
        self,
        name: str,
        kind: str,
        shape: str,
        inputs: tuple[str, ...],
        output: str,
        macs: float = 0.0,
        params: int = 0,
        extra_bytes: float = 0.0,
        work: float | None = None,
    ) -> None:
        """Append an operator reading ``inputs`` and writing ``output`` (declared feature maps)."""
        io = sum(self.sizes[t] for t in inputs) + self.sizes[output]
        nbytes = io + params * self.dtype_bytes + extra_bytes
        self.ops.append(
            GraphOp(
                OpCost(name, kind, shape, 2.0 * macs, nbytes, params),
                inputs,
                output,
                io if work is None else work,
            )
        )

    def costs(self) -> list[OpCost]:
        """The :class:`OpCost` rows in execution order."""
        return [op.cost for op in self.ops]

    def pool_classifier(self, x: str, c: int, h: int, num_classes: int) -> None:
        """Global average pool of ``x`` (``c`` channels, ``h``×``h``) and the linear classifier."""
        p = self.fmap("pool", c, 1)
        self.add("pool", "global_avgpool", f"c{c}_r{h}", (x,), p)
        out = self.fmap("logits", num_classes, 1)
        self.add(
            "classifier",
            "linear",
            f"i{c}_o{num_classes}",
            (p,),
            out,
            self.batch * c * num_classes,
            c * num_classes + num_classes,
        )

    def peak(self) -> float:
        """Largest bytes of feature maps alive at once, each freed after its last use."""
        last: dict[str, int] = {}
        born: dict[str, int] = {}
        for k, op in enumerate(self.ops):
            for t in op.inputs:
                last[t] = k
            born.setdefault(op.output, k)
        final = self.ops[-1].output
        last[final] = len(self.ops)
        best = 0.0
        for k, op in enumerate(self.ops):
            held = sum(
                size
                for t, size in self.sizes.items()
                if t not in op.inputs and t != op.output and born.get(t, -1) < k < last.get(t, -1)
            )
            best = max(best, held + op.work)
        return best
