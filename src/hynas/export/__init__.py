"""Exporting a searched architecture as a standalone model: ``hynas export`` and its library API.

:func:`export_model` turns a store's trial (or an architecture string) into a folder with the
module's ``state_dict`` in safetensors plus ``config.json``, a TorchScript file, an ONNX file
checked against ONNX Runtime, and a ``MODEL_CARD.md``. Weights come from a trained supernet
(once-for-all, Cai et al., ICLR 2020; BigNAS, Yu et al., ECCV 2020), optionally fine-tuned, or the
module is exported untrained and says so. :func:`load_exported` rebuilds the module from
``config.json`` + ``model.safetensors`` without pickle. See ``docs/export.md``.
"""

from __future__ import annotations

from hynas.export.formats import DEFAULT_FORMATS, FORMATS, load_exported, parse_formats
from hynas.export.model import CARD_FILE, ExportResult, export_model
from hynas.export.source import Chosen, choose, knee

__all__ = [
    "CARD_FILE",
    "DEFAULT_FORMATS",
    "FORMATS",
    "Chosen",
    "ExportResult",
    "choose",
    "export_model",
    "knee",
    "load_exported",
    "parse_formats",
]
