"""The one registration mechanism (``hynas.core.registry``): every kind registers in a
:class:`Registry`; built-in modules and third-party entry points load on the first lookup; a broken
plug-in is one warning naming its distribution, and hynas keeps working."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cli_util import HYNAS
from hynas.core.errors import HynasError
from hynas.core.registry import Registry
from plugin_util import env_with, fake_dist


def test_register_lookup_order_and_unregister() -> None:
    reg: Registry[int] = Registry("widget", int)

    @reg.register("b", colour="blue")
    def make_b(size: int = 1) -> int:
        """Widget b, of a size."""
        return size

    reg.add("a", lambda: 7, "widget a")
    reg.add("first", lambda: 0, position=0)
    assert reg.names() == ["a", "b", "first"]  # sorted
    assert list(reg) == ["first", "b", "a"]  # registration order (position 0 goes first)
    assert reg.summary("b") == "Widget b, of a size." and reg.meta("b") == {"colour": "blue"}
    assert reg.get("a").origin == "hynas" and "a" in reg and reg.has("b") and not reg.has("c")
    assert reg.create("b", size=3) == 3 and reg.create(5) == 5
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("a", lambda: 1)
    with pytest.raises(HynasError, match=r"unknown widget 'bb' \(did you mean 'b'\?\); valid widgets: a, b"):
        reg.factory("bb")
    with pytest.raises(HynasError, match=r"bad options for widget .b.*it accepts: size"):
        reg.create("b", colour=1)
    assert reg.update("b", colour="red").meta == {"colour": "red"} and list(reg) == ["first", "b", "a"]
    assert reg.unregister("first").name == "first" and "first" not in reg
    with pytest.raises(HynasError, match="unknown widget 'first'"):
        reg.unregister("first")


def test_load_hook_runs_once_on_the_first_lookup_not_on_registration() -> None:
    calls: list[int] = []
    reg: Registry[int] = Registry("gadget", load=lambda: (calls.append(1), reg.add("late", lambda: 1)))
    reg.add("early", lambda: 0)
    assert calls == [] and reg.peek("late") is None
    assert reg.names() == ["early", "late"] and calls == [1]
    assert reg.names() == ["early", "late"] and calls == [1]


def test_every_kind_has_a_registry_with_the_built_ins() -> None:
    from hynas.catalog import catalog
    from hynas.core.metrics import CATALOG, COST_MODELS, DEVICES, RESOLVERS
    from hynas.runners import RUNNERS
    from hynas.stores import STORES

    assert list(RUNNERS) == ["sequential", "pool", "ray"]
    assert {"sqlite", "postgresql"} <= set(STORES.names())
    assert len(RESOLVERS) == len(COST_MODELS) >= 4
    assert any(row[0] == "latency@roofline:<device>" for row in CATALOG)
    assert "latency@roofline:raspi4" in DEVICES.meta("raspi4")["sources"]
    sections = catalog()
    assert {"spaces", "strategies", "objectives", "devices", "evaluators", "stores", "runners"} <= set(
        sections
    )
    assert ["pool", "a pool of local worker processes (--workers N)", "hynas"] in sections["runners"][1]


def test_resolvers_list_inserts_and_removes_through_the_registry() -> None:
    from hynas.core.metrics import COST_MODELS, RESOLVERS, resolve_cost_model
    from hynas.spaces import get_space

    sentinel = object()

    def fake(name, space):  # type: ignore[no-untyped-def]
        return sentinel if name == "fake@x" else None

    RESOLVERS.insert(0, fake)
    try:
        assert next(iter(COST_MODELS)).endswith("fake") and RESOLVERS[0] is fake
        assert resolve_cost_model("fake@x", get_space("nb201")) is sentinel
    finally:
        RESOLVERS.remove(fake)
    assert resolve_cost_model("fake@x", get_space("nb201")) is None


def test_open_store_dispatches_on_the_scheme(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hynas.stores import STORES, open_store

    opened: list[tuple[str, bool, bool]] = []

    def opener(location: str, create: bool, read_only: bool):  # type: ignore[no-untyped-def]
        opened.append((location, create, read_only))
        return open_store(str(tmp_path / "s.db"), create, read_only)

    with open_store(str(tmp_path / "s.db")):
        pass
    STORES.add("mystore", opener)
    try:
        with open_store("mystore://bucket/run", read_only=True) as st:
            assert st.config() is None
        assert opened == [("mystore://bucket/run", False, True)]
    finally:
        STORES.unregister("mystore")
    with pytest.raises(HynasError, match="unsupported store URL scheme 'mystore'"):
        open_store("mystore://bucket/run")


def _run(code: str, *paths) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env_with(*paths)
    )


def test_entry_point_plugins_register_and_broken_ones_warn(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A module entry point and a callable one register a runner and a device; a missing module,
    one that raises and one that takes a built-in name each give one warning naming the
    distribution; everything else keeps working."""
    fake_dist(
        tmp_path,
        "good-plugin",
        {"mod": "good_mod", "fn": "good_fn:setup"},
        {
            "good_mod.py": "from hynas.runners import RUNNERS\n"
            "RUNNERS.register('same', 'the sequential runner again')(RUNNERS.factory('sequential'))\n",
            "good_fn.py": "def setup():\n"
            "    from hynas.core.metrics import register_device\n"
            "    register_device('toaster', 'crumbs@toaster', 'a kitchen appliance')\n",
        },
    )
    fake_dist(
        tmp_path,
        "bad-plugin",
        {"missing": "no_such_module", "raises": "bad_raise", "clash": "bad_clash"},
        {
            "bad_raise.py": "raise RuntimeError('boom at import')\n",
            # registers a runner, then fails: the runner is taken back
            "bad_clash.py": "from hynas.runners import RUNNERS\nfrom hynas.spaces import SPACES\n"
            "RUNNERS.register('half')(RUNNERS.factory('sequential'))\nSPACES.register('nb201')(object)\n",
        },
    )
    code = (
        "import warnings; warnings.simplefilter('always')\n"
        "from hynas.core.metrics import DEVICES\n"
        "from hynas.core.registry import plugin_errors\n"
        "from hynas.runners import RUNNERS\n"
        "from hynas.spaces import get_space\n"
        "print(sorted(n for n, e in RUNNERS.items() if e.origin == 'good-plugin'))\n"
        "print([DEVICES.meta('toaster')['sources'], DEVICES.get('toaster').origin])\n"
        "print(sorted(e[1] for e in plugin_errors()), type(get_space('nb201')).__name__, 'half' in RUNNERS)\n"
    )
    r = _run(code, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "['same']",
        "['crumbs@toaster', 'good-plugin']",
        "['clash', 'missing', 'raises'] NB201Space False",
    ]
    assert (
        "plug-in 'raises' from 'bad-plugin' failed to load and is skipped: RuntimeError: boom at import"
        in r.stderr
    )
    assert "ModuleNotFoundError: No module named 'no_such_module'" in r.stderr
    assert "ValueError: space 'nb201' registered twice" in r.stderr


def test_cli_broken_plugin_is_one_warning_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake_dist(tmp_path, "bad-plugin", {"raises": "bad_raise"}, {"bad_raise.py": "1 / 0\n"})
    r = subprocess.run(
        [*HYNAS, "list", "runners"], capture_output=True, text=True, timeout=120, env=env_with(tmp_path)
    )
    assert r.returncode == 0 and "sequential" in r.stdout
    assert r.stderr.splitlines() == [
        "warning: hynas plug-in 'raises' from 'bad-plugin' failed to load and is skipped: "
        "ZeroDivisionError: division by zero"
    ]


def test_importing_hynas_loads_no_plugin(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Entry points load on the first lookup, not on ``import hynas`` or on registering."""
    fake_dist(tmp_path, "loud-plugin", {"loud": "loud"}, {"loud.py": "print('LOADED')\n"})
    r = _run("import hynas, hynas.spaces, hynas.runners, hynas.stores; print('ok')", tmp_path)
    assert r.stdout.split() == ["ok"], r.stderr
    r = _run("import hynas.spaces; print(len(hynas.spaces.SPACES.names()) > 0)", tmp_path)
    assert r.stdout.split() == ["LOADED", "True"], r.stderr


def test_a_plugin_device_is_modelled_by_the_roofline_cost_models(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A device a plug-in adds with ``add_device`` works in ``latency@roofline:<name>`` like a
    catalog device: ten times the bandwidth and compute of raspi4 gives a lower latency."""
    fake_dist(
        tmp_path,
        "npu-plugin",
        {"npu": "npu_dev"},
        {
            "npu_dev.py": "from dataclasses import replace\n"
            "from hynas.hw.devices import DEVICE_CATALOG, add_device\n"
            "pi = DEVICE_CATALOG['raspi4']\n"
            "add_device(replace(pi, name='npu-x', description='a made-up NPU',\n"
            "    peak_flops={k: 10 * v for k, v in pi.peak_flops.items()}, mem_bw=10 * pi.mem_bw))\n",
        },
    )
    code = (
        "from hynas.core.metrics import DEVICES, resolve_cost_model\n"
        "from hynas.spaces import get_space\n"
        "sp = get_space('nb201'); a = sp.parse(sp.format(sp.sample(__import__('numpy').random.default_rng(0))))\n"
        "fast = resolve_cost_model('latency@roofline:npu-x', sp)(a)\n"
        "slow = resolve_cost_model('latency@roofline:raspi4', sp)(a)\n"
        "print(0 < fast < slow, DEVICES.get('npu-x').summary, DEVICES.get('npu-x').origin)\n"
        "print(sorted({e.origin for n, e in DEVICES.items() if n != 'npu-x'}))\n"
    )
    r = _run(code, tmp_path)
    assert r.returncode == 0, r.stderr
    # the plug-in imported hynas.hw first: what hw registered on import stays hynas's
    assert r.stdout.splitlines() == ["True a made-up NPU npu-plugin", "['hynas']"]


def test_a_plugin_command_group_is_mounted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = (
        "import typer\nfrom hynas.cli import COMMANDS\n"
        "app = typer.Typer(help='toy tools')\n"
        "@app.command()\ndef hello(name: str) -> None:\n    print(f'hello {name}')\n"
        "@app.command()\ndef bye() -> None:\n    print('bye')\n"
        "COMMANDS.add('toy', lambda: app, 'toy tools')\n"
    )
    fake_dist(tmp_path, "toy-cli", {"toy": "toy_cli"}, {"toy_cli.py": source})
    env = env_with(tmp_path)
    r = subprocess.run([*HYNAS, "toy", "hello", "you"], capture_output=True, text=True, timeout=120, env=env)
    assert (r.returncode, r.stdout, r.stderr) == (0, "hello you\n", "")
    listed = subprocess.run(
        [*HYNAS, "list", "commands"], capture_output=True, text=True, timeout=120, env=env
    )
    assert any("hynas toy" in ln and "toy-cli" in ln for ln in listed.stdout.splitlines())
