"""EC-NAS-Bench: the NAS-Bench-101 cell space, its hash, network, tabular evaluator and energy@ecnas."""

from __future__ import annotations

import gzip
import hashlib
import itertools
from importlib import resources

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from hynas.benchmarks.ecnas import DATA_FILE, load_raw, load_table
from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.core.metrics import resolve_cost_model
from hynas.evaluators import make_evaluator, space_defaults
from hynas.evaluators.ecnas import ECNASTabular
from hynas.hw.analytic import analytic_costs
from hynas.spaces import get_space
from hynas.spaces.ecnas import MAX_EDGES, SHORT_OPS, ECNASSpace, module_hash, prune
from hynas.wiring import Experiment

SPACE = get_space("ecnas")
assert isinstance(SPACE, ECNASSpace)
SHA256 = "20c45095e84cb118303cb92256c93adfca16f233fed03dbd2c1d3f57bf04fa74"


def _string(matrix: list[list[int]], labels: list[int]) -> str:
    n = len(labels)
    names = ["in", *(SHORT_OPS[x] for x in labels[1:-1]), "out"]
    edges = [f"{a}-{b}" for a in range(n) for b in range(n) if matrix[a][b]]
    return f"{','.join(names)}|{','.join(edges)}"


# -- data and hash ----------------------------------------------------------------------------------


def test_shipped_data_is_the_unmodified_raw_file() -> None:
    raw = resources.files("hynas.data").joinpath(DATA_FILE).read_bytes()
    assert hashlib.sha256(gzip.decompress(raw)).hexdigest() == SHA256
    data = load_raw()
    assert len(data["5V9E"]) == 2532 and len(data["4V9E"]) == 91
    assert set(data["4V9E"]) <= set(data["5V9E"])
    assert all(len(r["repeats"]) == 3 for r in data["4V9E"].values())


def test_module_hash_reproduces_every_ecnas_key() -> None:
    """Our NAS-Bench-101 fingerprint gives the key of every record, in both tables (2,623)."""
    n = 0
    for table in load_raw().values():
        for key, rec in table.items():
            assert module_hash(rec["module_adjacency"], rec["module_operations"]) == key
            n += 1
    assert n == 2623
    assert [SPACE.module_hash(a) for a in SPACE.enumerate()] == list(load_table().hashes)


def test_isomorphic_relabellings_are_one_architecture() -> None:
    """Every topological relabelling of the interior vertices of every cell parses to the same
    architecture and keeps its module hash."""
    table = load_table()
    checked = 0
    for row, arch in enumerate(SPACE.enumerate()):
        matrix, labels = SPACE.spec(arch)
        n = len(labels)
        for perm in itertools.permutations(range(1, n - 1)):
            order = (0, *perm, n - 1)
            pos = {v: i for i, v in enumerate(order)}
            if not all(pos[a] < pos[b] for a in range(n) for b in range(n) if matrix[a][b]):
                continue
            m2 = [[matrix[order[a]][order[b]] for b in range(n)] for a in range(n)]
            l2 = [labels[order[a]] for a in range(n)]
            assert module_hash(m2, l2) == table.hashes[row]
            assert SPACE.parse(_string(m2, l2)) == arch
            checked += 1
    assert checked > 3000  # 3,580 labellings of the 2,532 cells


def test_different_cells_have_different_hashes_and_strings() -> None:
    archs = list(SPACE.enumerate())
    assert len({SPACE.module_hash(a) for a in archs}) == len({str(a) for a in archs}) == 2532


# -- the space ----------------------------------------------------------------------------------------


def test_space_is_exactly_every_valid_cell() -> None:
    """Of the 2**10 * 3**3 raw gene tuples, those with an input-output path and <= 9 edges after
    pruning canonicalise to exactly the 2,532 tabulated cells; the others are invalid."""
    keys = set()
    for genes in itertools.product(*(range(len(d)) for d in SPACE.dims)):
        pruned = prune(*_raw(genes))
        ok = pruned is not None and sum(map(sum, pruned[0])) <= MAX_EDGES
        assert SPACE.is_valid(genes) == ok
        if ok:
            keys.add(SPACE.canonicalize(genes))
    assert len(keys) == SPACE.size() == 2532
    assert keys == {a.genes for a in SPACE.enumerate()}


def _raw(genes: tuple[int, ...]) -> tuple[list[list[int]], list[int]]:
    from hynas.spaces.ecnas import _raw_graph

    return _raw_graph(genes)


def test_round_trip_index_and_hash_for_every_cell() -> None:
    table = load_table()
    for i, arch in enumerate(SPACE.enumerate()):
        text = str(arch)
        assert SPACE.parse(text) == arch and SPACE.format(SPACE.parse(text)) == text
        assert SPACE.index(arch) == i and SPACE.from_index(i) == arch
        assert SPACE.parse(table.hashes[i]) == arch
        assert SPACE.make(arch.genes) == arch
    assert str(SPACE.parse("in,out|0-1")) == "in,out|0-1"
    # long op names are accepted, the string uses the short ones
    assert str(SPACE.parse("in,conv3x3-bn-relu,out|0-1,1-2")) == "in,conv3x3,out|0-1,1-2"


def test_pruning_drops_vertices_off_the_input_output_paths() -> None:
    # vertex 2 (maxpool) has no way to the output, vertex 3 (conv1x1) none from the input
    text = "in,conv3x3,maxpool3x3,conv1x1,out|0-1,0-2,1-4,3-4"
    assert SPACE.parse(text) == SPACE.parse("in,conv3x3,out|0-1,1-2")
    assert str(SPACE.parse(text)) == "in,conv3x3,out|0-1,1-2"


def test_canonical_genes_are_the_tabulated_labelling() -> None:
    """The parameter count depends on the labelling (the first vertices get the remainder channels),
    so a cell's canonical form is the labelling EC-NAS-Bench trained, whatever labelling comes in."""
    table = load_table()
    for row in range(0, 2532, 97):
        assert SPACE.spec(SPACE.from_index(row)) == (table.matrices[row], table.labels[row])


def test_sample_mutate_and_neighbours_stay_in_the_table() -> None:
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(300):
        arch = SPACE.sample(rng)
        seen.add(arch)
        assert SPACE.contains(arch)
        child = SPACE.mutate(arch, rng)
        assert SPACE.contains(child) and child != arch
    assert len(seen) > 250  # uniform over 2,532 cells
    counts = [len(SPACE.neighbours(a)) for a in SPACE.enumerate()]
    assert min(counts) >= 3
    smallest = SPACE.parse("in,out|0-1")
    # no single edge flip gives a cell, but a new vertex between the input and the output does
    assert {str(a) for a in SPACE.neighbours(smallest)} == {f"in,{op},out|0-1,0-2,1-2" for op in SHORT_OPS}
    arch = SPACE.parse("in,conv3x3,maxpool3x3,out|0-1,0-2,1-2,2-3")
    nbrs = SPACE.neighbours(arch)
    assert len(set(nbrs)) == len(nbrs) and arch not in nbrs
    assert SPACE.parse("in,conv1x1,maxpool3x3,out|0-1,0-2,1-2,2-3") in nbrs  # op change
    assert SPACE.parse("in,conv3x3,maxpool3x3,out|0-1,0-2,1-2,2-3,0-3") in nbrs  # edge added


def test_encodings() -> None:
    arch = SPACE.parse("in,conv3x3,maxpool3x3,out|0-1,0-2,1-2,2-3,0-3")
    assert set(SPACE.encodings()) >= {"onehot", "adjacency", "path"}
    assert SPACE.encode(arch, "onehot").shape == (29,)
    adj = SPACE.encode(arch, "adjacency")
    assert adj.shape == (19,) and adj[:10].sum() == 5 and adj[10:].sum() == 2
    path = SPACE.encode(arch, "path")
    # paths: in->out, in->pool->out, in->conv3x3->pool->out
    assert path.shape == (40,) and path.sum() == 3


def test_bad_input_is_one_clear_error() -> None:
    cases = {
        "in,conv3x3,out": "malformed EC-NAS arch string",
        "conv3x3,out|0-1": "from 'in' to 'out'",
        "in,conv5x5,out|0-1,1-2": "unknown op 'conv5x5'",
        "in,conv3x3,conv3x3,conv3x3,conv3x3,out|0-5": "6 vertices; at most 5",
        "in,conv3x3,out|1-0": "bad edge '1-0'",
        "in,conv3x3,out|0-3": "bad edge '0-3'",
        "in,conv3x3,out|0-1,0-1,1-2": "listed twice",
        "in,conv3x3,out|0-1": "no path joins the input to the output",
        "in,conv3x3,conv1x1,maxpool3x3,out|0-1,0-2,0-3,0-4,1-2,1-3,1-4,2-3,2-4,3-4": "10 edges",
        "0" * 32: "unknown EC-NAS-Bench module hash",
    }
    for text, message in cases.items():
        with pytest.raises(HynasError, match=message):
            SPACE.parse(text)
    with pytest.raises(HynasError, match="belongs to space 'nb201'"):
        SPACE.validate(Architecture("nb201", (0,) * 6))
    with pytest.raises(HynasError, match="needs 13 genes"):
        SPACE.validate(Architecture("ecnas", (0,) * 6))
    with pytest.raises(HynasError, match="no path"):
        SPACE.validate(Architecture("ecnas", (0,) * 13))
    with pytest.raises(HynasError, match="canonical form"):
        # a relabelling that is not the tabulated one
        arch = SPACE.parse("in,conv3x3,maxpool3x3,out|0-1,0-2,1-3,2-3")
        _, labels = SPACE.spec(arch)
        swapped = (1, 1, 0, 0, 0, 0, 1, 0, 1, 0, labels[2], labels[1], 0)
        SPACE.validate(Architecture("ecnas", swapped))
    with pytest.raises(HynasError, match="not an EC-NAS-Bench cell"):
        SPACE.make((0,) * 13)


# -- the network ----------------------------------------------------------------------------------------


def test_analytic_params_match_trainable_params_of_every_cell() -> None:
    params = load_table()["params"]
    counted = np.array([analytic_costs(a)["params"] for a in SPACE.enumerate()])
    assert (counted == params).all()


def test_built_network_params_flops_and_forward() -> None:
    """The PyTorch network has exactly the benchmark's trainable parameters; FLOPs equal the
    analytic count (FlopCounterMode); the forward pass gives CIFAR-10 logits."""
    table = load_table()
    for text in ("in,out|0-1", "in,maxpool3x3,conv1x1,out|0-1,0-2,1-2,2-3", "in,conv1x1,out|0-1,1-2,0-2"):
        arch = SPACE.parse(text)
        model = SPACE.build(arch).eval()
        assert sum(p.numel() for p in model.parameters()) == table["params"][SPACE.index(arch)]
        counter = FlopCounterMode(display=False)
        with counter, torch.inference_mode():
            out = model(torch.randn(2, 3, 32, 32))
        assert out.shape == (2, 10) and torch.isfinite(out).all()
        assert counter.get_total_flops() == analytic_costs(arch, batch=2)["flops"]
    # a cell where three vertices split 128 channels 43/43/42: the labelling EC-NAS trained
    row = next(i for i, m in enumerate(table.matrices) if len(m) == 5 and sum(r[-1] for r in m[1:4]) == 3)
    model = SPACE.build(SPACE.from_index(row))
    assert sum(p.numel() for p in model.parameters()) == table["params"][row]
    small = SPACE.build(SPACE.from_index(row), channels=8, num_stacks=2, cells_per_stack=1, num_classes=4)
    assert small(torch.randn(1, 3, 16, 16)).shape == (1, 4)
    with pytest.raises(HynasError, match="channels must be >= 3"):
        SPACE.build(SPACE.from_index(row), channels=2)


# -- the evaluator -----------------------------------------------------------------------------------------


def test_evaluator_values_match_the_raw_json() -> None:
    ev = ECNASTabular()
    raw = load_raw()["5V9E"]
    for key in list(raw)[::500]:
        rec = raw[key]
        (run,) = rec["repeats"]
        evals = {int(e["epochs"]): e for e in run["evals"]}
        arch = SPACE.parse(key)
        for epochs in (2, 4):
            r = ev.evaluate(arch, epochs)
            e = evals[epochs]
            assert r.metrics["accuracy"] == pytest.approx(100 * e["validation_accuracy"])
            assert r.metrics["energy@ecnas"] == e["energy (kWh)"]
            assert r.metrics["train_time"] == e["training_time"] == r.cost_s
            assert r.metrics["params"] == pytest.approx(rec["trainable_params"] / 1e6)
            assert r.hidden["test_accuracy"] == pytest.approx(100 * e["test_accuracy"])
            assert r.hidden["co2@ecnas"] == run["total_co2eq_g"]
            assert "test_accuracy" not in r.metrics and r.fidelity == epochs
    assert ev.evaluate(SPACE.parse(key)).fidelity == 4.0


def test_evaluator_fidelities_datasets_and_tables() -> None:
    ev = ECNASTabular()
    assert ev.fidelities() == (2.0, 4.0) and ev.default_fidelity() == 4.0
    assert ECNASTabular(fidelity=2).default_fidelity() == 2.0
    arch = SPACE.sample(np.random.default_rng(0))
    for bad, message in ((1, "fidelities 2, 4 epochs, not 1"), (0, "not 0"), ("four", "must be a number")):
        with pytest.raises(HynasError, match=message):
            ev.evaluate(arch, bad)  # type: ignore[arg-type]
    with pytest.raises(HynasError, match="unknown dataset 'cifar100' for ecnas; valid datasets: cifar10"):
        ECNASTabular("cifar100")
    with pytest.raises(HynasError, match="fidelities 2, 4 epochs, not 3"):
        ECNASTabular(fidelity=3)
    with pytest.raises(HynasError, match="belongs to space 'nb201'"):
        ev.evaluate(get_space("nb201").sample(np.random.default_rng(0)))
    tab = ev.table(["accuracy", "energy@ecnas"])
    assert tab is not None and tab["accuracy"].shape == (2532,)
    i = SPACE.index(arch)
    assert tab["energy@ecnas"][i] == ev.evaluate(arch).metrics["energy@ecnas"]
    assert 0.004 < tab["energy@ecnas"].min() < tab["energy@ecnas"].max() < 0.06
    assert ev.metrics()["test_accuracy"].hidden and ev.metrics()["energy@ecnas"].direction == "min"


# -- energy@ecnas as an objective --------------------------------------------------------------------------


def test_space_defaults_and_experiment() -> None:
    d = space_defaults("ecnas")
    assert d is not None and d.evaluator == "ecnas-tabular" and d.objectives == ("accuracy", "energy@ecnas")
    exp = Experiment(ExperimentConfig(space="ecnas", budget=5))
    assert [str(o) for o in exp.objectives] == ["accuracy:max", "energy@ecnas:min"]
    table = exp.table()
    assert table is not None and len(table["energy@ecnas"]) == 2532
    assert isinstance(make_evaluator("ecnas"), ECNASTabular)
    # analytic and roofline costs serve ecnas too
    exp = Experiment(ExperimentConfig(space="ecnas", objectives=("energy@ecnas", "flops"), budget=5))
    assert "flops" in exp.cost_models
    with pytest.raises(HynasError, match="report-only"):
        Experiment(ExperimentConfig(space="ecnas", objectives=("test_accuracy",), budget=5))


def test_energy_objective_errors_name_the_fix() -> None:
    with pytest.raises(HynasError, match=r"only, not for space 'nb201'; search with --space ecnas"):
        Experiment(ExperimentConfig(space="nb201", objectives=("accuracy", "energy@ecnas"), budget=5))
    with pytest.raises(
        HynasError, match=r"unknown energy source 'gpu' .*valid energy objectives: energy@ecnas"
    ):
        Experiment(ExperimentConfig(space="ecnas", objectives=("energy@gpu",), budget=5))
    with pytest.raises(HynasError, match="'energy' needs a source"):
        resolve_cost_model("energy", SPACE)
    model = resolve_cost_model("energy@ecnas", SPACE)
    assert model is not None and model.info.unit == "kWh"
    arch = SPACE.sample(np.random.default_rng(2))
    assert model(arch) == ECNASTabular().evaluate(arch, 4).metrics["energy@ecnas"]
