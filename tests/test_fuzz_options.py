"""Fuzz strategy options (generated from each strategy's declared schema) and the type of every
TOML key, through the command line (in-process, plus a few real processes).

Valid values inside the declared ranges must run; wrong types, values outside the ranges, nan, inf,
huge and empty values must end in one line (``error: ...``), exit 2, no traceback, no store file,
and an earlier run's store unchanged. The helpers come from ``test_fuzz_cli``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hynas.core.strategy import Option
from hynas.strategies import STRATEGIES, option_schema, searches
from test_fuzz_cli import DEEP, base_store, invoke, store_content


# -- strategy options, generated from each strategy's declared schema ------------------------------
def _num(x: float, kind: str) -> str:
    return str(int(x)) if kind == "int" else repr(float(x))


def valid_values(opt: Option) -> list[str]:
    """Values inside the declared range, as ``-o KEY=VALUE`` text (small: each one runs a search)."""
    if opt.kind == "bool":
        return ["true", "false"]
    if opt.choices:
        return [f'"{c}"' for c in opt.choices]
    if opt.kind in ("int", "float"):
        lo = 0.0 if opt.low is None else opt.low
        hi = lo + 4 if opt.high is None else min(opt.high, lo + 4)
        first = lo + (0.25 if opt.kind == "float" else 1) if opt.low_open else lo
        last = hi - (0.25 if opt.kind == "float" else 1) if opt.high_open else hi
        return [_num(first, opt.kind), _num((first + last) / 2 if opt.kind == "float" else last, opt.kind)]
    return []  # names, lists and tables: their defaults (checked against registries at setup)


def invalid_values(opt: Option) -> list[str]:
    """Wrong types, out of range, nan, inf, huge and empty values, as ``-o KEY=VALUE`` text."""
    out = ['""', "[]", "{a = 1}", "[[1]]"]
    if opt.kind in ("int", "float"):
        out += ['"abc"', "abc", "true", "nan", "inf", "-inf", "1e400", "1" + "0" * 30]
        if opt.kind == "int":
            out += ["1.5", "2.0"]
        if opt.low is not None:
            out.append(_num(opt.low, opt.kind) if opt.low_open else _num(opt.low - 1, opt.kind))
        if opt.high is not None:
            out.append(_num(opt.high, opt.kind) if opt.high_open else _num(opt.high + 1, opt.kind))
    elif opt.kind == "bool":
        out += ["1", "0", '"yes"', "nan"]
    elif opt.kind == "str":
        out += ["5", "true", "nan"] + (['"nope"'] if opt.choices else [])
    elif opt.kind == "floats":
        out += ["[nan]", "[-1, 12]", '["a", 1]', "[1e400]", "12", "[true, 1]"]
    elif opt.kind == "strs":
        out += ["5", '[1, "a"]', '[""]']
    elif opt.kind == "table":
        out += ["5", '"abc"', "[1]"]
    return out


def option_cases(valid: bool) -> list[tuple[str, str]]:
    """(strategy, "KEY=VALUE") for every strategy and every declared option."""
    pick = valid_values if valid else invalid_values
    # a valid value of 'given' is an architecture of the space (tests/test_rescore.py), not a pick
    names = [s for s in STRATEGIES.names() if not valid or searches(s)]
    return [(s, f"{o.name}={v}") for s in names for o in option_schema(s) for v in pick(o)]


def strategy_args(strategy: str) -> list[str]:
    return ["search", "--strategy", strategy, "--objective", "accuracy", "--seed", "1", "-q"]


def test_fuzz_strategy_options_outside_the_schema_are_one_line():
    """Every declared option of every strategy with wrong types / out-of-range / nan / inf / huge /
    empty values: one line, exit 2, no store file; unknown names list the valid ones."""
    cases = option_cases(valid=False) + [(s, "bogus_option=1") for s in STRATEGIES.names()]
    assert len(cases) > 400
    for strategy, item in cases:
        with tempfile.TemporaryDirectory() as d:
            store = Path(d) / "s.db"
            code, out = invoke([*strategy_args(strategy), "--budget", "2", "--store", str(store), "-o", item])
            assert code == 2 and out.startswith("error: ") and "\n" not in out.strip(), (strategy, item, out)
            assert item.split("=")[0] in out and strategy in out, (item, out)
            assert not store.exists(), (strategy, item)


def _run_valid(strategy: str, items: list[str]) -> None:
    with tempfile.TemporaryDirectory() as d:
        store = Path(d) / "s.db"
        args = [*strategy_args(strategy), "--budget", "3", "--store", str(store)]
        code, out = invoke(args + [a for item in items for a in ("-o", item)])
        assert code == 0, (strategy, items, out)


@pytest.mark.parametrize("strategy", sorted({s for s, _ in option_cases(valid=True)}))
def test_fuzz_strategy_options_inside_the_schema_run(strategy):
    """The lower and upper picks of every option of a strategy, all at once: the search runs."""
    cases = [item for s, item in option_cases(valid=True) if s == strategy]
    if strategy == "nsga2":
        return _run_valid(strategy, [c for c in cases if "mutation" not in c])  # one objective: GA
    by_key: dict[str, list[str]] = {}
    for item in cases:
        by_key.setdefault(item.split("=")[0], []).append(item)
    for i in range(2):
        _run_valid(strategy, [vals[min(i, len(vals) - 1)] for vals in by_key.values()])


@pytest.mark.slow
@DEEP
@given(data=st.data(), strategy=st.sampled_from(sorted({s for s, _ in option_cases(valid=True)})))
def test_fuzz_strategy_option_combinations_run(data, strategy):
    cases = [item for s, item in option_cases(valid=True) if s == strategy]
    _run_valid(strategy, data.draw(st.lists(st.sampled_from(cases), max_size=6)))


# -- every TOML key with every wrong type ----------------------------------------------------------
TOML_BASE = {"strategy": '"random"', "objectives": '["accuracy"]', "budget": "3", "seed": "1"}
TOML_VALUES = {
    "int": "5", "float": "1.5", "bool": "true", "str": '"x"', "date": "1979-05-27", "nan": "nan",
    "ints": "[1]", "strs": '["x"]', "table": "{a = 1}", "empty": '""',
}  # fmt: skip
#: the value kinds each key accepts (anything else must be refused)
TOML_OK = {
    "space": {"str"}, "dataset": {"str"}, "evaluator": {"str"}, "evaluator_options": {"table"},
    "strategy": {"str"}, "strategy_options": {"table"}, "objectives": {"strs"}, "constraints": {"strs"},
    "budget": {"int"}, "budget_seconds": {"int", "float"}, "seed": {"int"}, "store": {"str"},
}  # fmt: skip


def test_fuzz_toml_every_key_with_every_wrong_type():
    """Each wrong type is one line and exit 2, and the store of an earlier run is unchanged."""
    base = base_store()
    n = 0
    for key, ok in TOML_OK.items():
        for kind, text in TOML_VALUES.items():
            if kind in ok:
                continue
            with tempfile.TemporaryDirectory() as d:
                store = Path(d) / "s.db"
                shutil.copy(base, store)
                before = store_content(store)
                lines = {**TOML_BASE, "store": json.dumps(str(store)), key: text}
                (Path(d) / "c.toml").write_text("\n".join(f"{k} = {v}" for k, v in lines.items()))
                code, out = invoke(["search", "--config", str(Path(d) / "c.toml"), "-q"])
                assert code == 2 and out.startswith("error: ") and "\n" not in out.strip(), (key, text, out)
                assert key in out and "different configuration" not in out, out  # refused for its type
                assert store_content(store) == before
                assert sorted(p.name for p in Path(d).iterdir() if not p.name.startswith("s.db")) == [
                    "c.toml"
                ], (key, text)  # no file named after a value
                n += 1
    assert n >= 100


@pytest.mark.parametrize(
    "args",
    [
        ["--strategy", "rea", "-o", "population=abc"],
        ["--strategy", "nsga2", "-o", "crossover=nan"],
        ["--strategy", "random", "--trial-delay", "inf"],
    ],
)
def test_real_processes_refuse_bad_options_in_one_line(args, tmp_path):
    cmd = [sys.executable, "-c", "from hynas.cli import main; main()", "search", "--objective", "accuracy"]
    r = subprocess.run(
        [*cmd, "--store", "s.db", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert r.returncode == 2 and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    assert "Traceback" not in r.stderr + r.stdout and list(tmp_path.iterdir()) == []
