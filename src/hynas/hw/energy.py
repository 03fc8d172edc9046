"""Energy objectives: ``energy@<source>``, registered as an objective resolver.

One source today, ``energy@ecnas``: the training energy EC-NAS-Bench measured (Bakhtiarifard, Igel &
Selvan, "EC-NAS: Energy Consumption Aware Tabular Benchmarks for Neural Architecture Search",
ICASSP 2024), in kWh for the 4-epoch CIFAR-10 training of a NAS-Bench-101 cell on an NVIDIA Quadro
RTX 6000. It is tabulated for the ``ecnas`` space only; the ``ecnas-tabular`` evaluator reports it
at the query's fidelity, and this resolver serves it (at 4 epochs) when another evaluator scores
``ecnas`` cells. Any other space or source is one error that names the fix.
"""

from __future__ import annotations

from hynas.core.errors import HynasError
from hynas.core.metrics import CostModel, MetricInfo, TableCostModel, register_device, register_resolver
from hynas.core.space import SearchSpace

__all__ = ["SOURCES", "resolve", "table_energy"]

#: energy source -> (space it covers, description)
SOURCES = {
    "ecnas": ("ecnas", "EC-NAS-Bench: measured 4-epoch CIFAR-10 training energy on a Quadro RTX 6000, kWh"),
}


def table_energy(name: str) -> TableCostModel:
    """EC-NAS-Bench energy of the full 4-epoch run (kWh), looked up by cell."""
    from hynas.benchmarks.ecnas import load_table
    from hynas.spaces import get_space

    info = MetricInfo(name, "min", "kWh", SOURCES["ecnas"][1])
    return TableCostModel(info, get_space("ecnas"), load_table()["energy@4"])


def _valid() -> str:
    return ", ".join(f"energy@{s} (space {sp})" for s, (sp, _) in SOURCES.items())


def resolve(name: str, space: SearchSpace) -> CostModel | None:
    """The resolver registered with :func:`hynas.core.metrics.register_resolver`."""
    metric, _, source = name.partition("@")
    if metric != "energy":
        return None
    if source not in SOURCES:
        what = f"unknown energy source {source!r} in {name!r}" if source else f"{name!r} needs a source"
        raise HynasError(f"{what}; valid energy objectives: {_valid()}")
    covered, _ = SOURCES[source]
    if space.name != covered:
        raise HynasError(
            f"{name} is measured by EC-NAS-Bench for the NAS-Bench-101 cells of space {covered!r} only, "
            f"not for space {space.name!r}; search with --space {covered}, or pick a cost of space "
            f"{space.name!r} from `hynas list objectives`"
        )
    return table_energy(name)


register_resolver(resolve, ("energy@ecnas", "EC-NAS-Bench measured training energy, kWh (4 epochs): ecnas"))
register_device(
    "quadro-rtx6000", "energy@ecnas (ecnas table)", "NVIDIA Quadro RTX 6000 GPU (EC-NAS-Bench, measured)"
)
