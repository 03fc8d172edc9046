"""The exported files: ``model.safetensors`` + ``config.json``, ``model.ts`` (TorchScript) and
``model.onnx``, each checked against the PyTorch module right after it is written.

- **safetensors**: the module's ``state_dict`` (tied weights stored once per name, no pickle) and a
  ``config.json`` that says how to rebuild the module: space (and its options when it is not the
  registered one, e.g. a reduced supernet space), canonical architecture string, builder options,
  input shape and dtype, and the SHA-256 of the weights file. :func:`load_exported` rebuilds it with
  ``space.build(arch, **options)`` and loads the weights strictly.
- **TorchScript**: ``torch.jit.trace`` on the example input (a traced graph: the input shape of
  the example, batch included for the language models, whose loops over time are unrolled).
- **ONNX**: ``torch.onnx.export(..., dynamo=True)`` (the ``torch.export``-based exporter, which
  needs ``onnxscript``; the older TorchScript-based exporter cannot export ``rms_norm``, used by
  ``hybrid-lm``, and is deprecated). Image models get a dynamic batch dimension. The file is then
  run with ONNX Runtime on the example input and the largest absolute difference to PyTorch's
  output is recorded.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.space import SearchSpace

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_FORMATS",
    "FILES",
    "FORMATS",
    "load_exported",
    "make_space",
    "parse_formats",
    "write_format",
]

FORMATS = ("safetensors", "torchscript", "onnx")
DEFAULT_FORMATS = FORMATS
FILES = {"safetensors": "model.safetensors", "torchscript": "model.ts", "onnx": "model.onnx"}
CONFIG_FILE = "config.json"
CONFIG_VERSION = 1
#: modules each format needs, and where they come from
_NEEDS = {"onnx": ("onnx", "onnxscript")}


def parse_formats(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"safetensors,onnx"`` (or a list) -> the formats in a fixed order; one clear error for an
    unknown or missing one, or a missing optional package."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [s.strip().lower() for s in items if s.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        what = f"unknown export format {unknown[0]!r}" if unknown else "no export format given"
        raise HynasError(f"{what}; valid: {', '.join(FORMATS)} (comma-separated)")
    for fmt in names:
        for module in _NEEDS.get(fmt, ()):
            try:
                importlib.import_module(module)
            except ImportError:
                raise HynasError(
                    f"the {fmt} export needs {module}: pip install 'hynas[export]' "
                    f"(or leave {fmt} out of --format)"
                ) from None
    return tuple(f for f in FORMATS if f in names)


def make_space(name: str, options: Mapping[str, Any] | None = None) -> SearchSpace:
    """The registered space ``name``, or one of its class built with ``options`` (a reduced space)."""
    from hynas.spaces import get_space

    space = get_space(name)
    if not options:
        return space
    try:
        return type(space)(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})
    except TypeError as exc:
        raise HynasError(f"space {name!r} does not take the options {dict(options)} ({exc})") from None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def _outputs_differ(a: torch.Tensor, b: torch.Tensor) -> float:
    if a.shape != b.shape:
        return float("inf")
    return float((a.detach().to(torch.float64) - b.detach().to(torch.float64)).abs().max())


def write_safetensors(out: Path, model: nn.Module, config: dict[str, Any]) -> dict[str, Any]:
    from safetensors.torch import save_file

    # tied weights (hybrid-lm's head and embedding) are one storage: safetensors wants each name whole
    tensors = {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    path = out / FILES["safetensors"]
    save_file(tensors, str(path), metadata={"format": "pt", "hynas": "exported-model"})
    config["weights_sha256"] = _sha256(path)
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    reloaded, _, _ = load_exported(out)
    return {"file": path.name, "max_abs_diff": _compare(model, reloaded, config)}


def _compare(model: nn.Module, other: Any, config: Mapping[str, Any]) -> float:
    x = example_from_config(config)
    with torch.no_grad():
        return _outputs_differ(model(x), other(x))


def write_torchscript(out: Path, model: nn.Module, config: Mapping[str, Any]) -> dict[str, Any]:
    x = example_from_config(config)
    path = out / FILES["torchscript"]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python values baked into the graph
        traced = torch.jit.trace(model, (x,), check_trace=False)
        torch.jit.save(traced, str(path))
        loaded = torch.jit.load(str(path))
    return {"file": path.name, "max_abs_diff": _compare(model, loaded, config)}


def write_onnx(out: Path, model: nn.Module, config: Mapping[str, Any]) -> dict[str, Any]:
    import numpy as np

    x = example_from_config(config)
    path = out / FILES["onnx"]
    dynamic = x.is_floating_point()  # image models: any batch; LMs: the traced shape
    shapes = ({0: torch.export.Dim("batch")},) if dynamic else None
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the exporter logs skipped torchvision ops and its progress
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                model, (x,), None, dynamo=True, input_names=["x"], output_names=["y"],
                dynamic_shapes=shapes, optimize=True, verbose=False,
            )  # fmt: skip
    except Exception as exc:  # the exporter raises many types; the reason is its first line
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HynasError(f"ONNX export of {config['arch']} failed: {reason}") from None
    finally:
        quiet.setLevel(level)
    assert program is not None
    program.save(str(path))
    result: dict[str, Any] = {"file": path.name, "dynamic_batch": dynamic}
    try:
        import onnxruntime as ort
    except ImportError:
        result["onnxruntime"] = "not installed: output not checked (pip install 'hynas[export]')"
        return result
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        want = model(x)
    result["max_abs_diff"] = _outputs_differ(want, torch.from_numpy(np.asarray(got)))
    result["onnxruntime"] = ort.__version__
    return result


WRITERS = {"safetensors": write_safetensors, "torchscript": write_torchscript, "onnx": write_onnx}


def write_format(fmt: str, out: Path, model: nn.Module, config: dict[str, Any]) -> dict[str, Any]:
    """Write one format into ``out``; returns what was checked (file name, largest output difference)."""
    return WRITERS[fmt](out, model, config)


def example_from_config(config: Mapping[str, Any]) -> torch.Tensor:
    """The seeded example input the export was traced and checked on (shape/dtype from ``config``)."""
    spec = config["input"]
    gen = torch.Generator().manual_seed(int(spec.get("seed", 0)))
    shape = tuple(int(s) for s in spec["shape"])
    if spec["dtype"] == "int64":
        return torch.randint(int(spec["high"]), shape, generator=gen)
    return torch.randn(shape, generator=gen)


def _read_config(out: Path) -> dict[str, Any]:
    path = out / CONFIG_FILE
    if not path.is_file():
        raise HynasError(f"{out} is not an exported model: no {CONFIG_FILE} (write one with `hynas export`)")
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HynasError(f"{path} is not readable JSON ({exc})") from None
    need = ("version", "space", "arch", "options", "input", "weights_sha256")
    if not isinstance(config, dict) or any(k not in config for k in need):
        raise HynasError(f"{path} is not a hynas export config (needs {', '.join(need)})")
    if config["version"] != CONFIG_VERSION:
        raise HynasError(
            f"{path} has export format version {config['version']!r}; this hynas reads {CONFIG_VERSION}"
        )
    return config


def load_exported(out: str | Path) -> tuple[nn.Module, Architecture, dict[str, Any]]:
    """The exported module rebuilt from ``config.json`` + ``model.safetensors`` (eval mode), its
    architecture and its config. Refuses a damaged or foreign folder with one clear error."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    out = Path(out)
    config = _read_config(out)
    weights = out / FILES["safetensors"]
    if not weights.is_file():
        raise HynasError(f"{out} has no {weights.name} (export it with --format safetensors)")
    if _sha256(weights) != config["weights_sha256"]:
        raise HynasError(f"{weights} is damaged: its SHA-256 differs from the one in {CONFIG_FILE}")
    space = make_space(config["space"], config.get("space_options"))
    arch = space.parse(config["arch"])
    model: nn.Module = space.build(arch, **config["options"])
    try:
        tensors = load_file(str(weights))
    except SafetensorError as exc:
        raise HynasError(f"{weights} is not a readable safetensors file ({exc})") from None
    own = model.state_dict()
    if set(own) != set(tensors) or any(own[k].shape != tensors[k].shape for k in own):
        raise HynasError(f"{weights} does not hold the weights of {config['arch']} as this hynas builds it")
    model.load_state_dict(tensors)
    return model.eval(), arch, config
